"""Keel infrastructure: manifests and the environment table become CDK stacks."""

import os
import shutil
import subprocess


def _silence_node_end_of_life_banner() -> None:
    # jsii prints a multi-line banner on every import of aws_cdk when Node is past end of life; the
    # variable must hold the running major version, so it is read from `node` once, here.
    if "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION" in os.environ:
        return
    node = os.environ.get("JSII_NODE") or shutil.which("node")
    if node is None:
        return
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    if version.startswith("v"):
        os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = version[1:].split(".")[0]


_silence_node_end_of_life_banner()
