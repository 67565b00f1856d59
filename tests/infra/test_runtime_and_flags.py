"""The Lambda runtime is the Python the tests run on; cdk.json sets CDK's recommended flags, and every
synth (not only the CDK CLI's) applies them."""

from __future__ import annotations

import json
import sys

from infra.app_builder import ROOT

RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
# What `cdk init` writes into a new project's cdk.json, from the pinned CDK CLI.
RECOMMENDED = ROOT / "node_modules" / "aws-cdk" / "lib" / "init-templates" / ".recommended-feature-flags.json"


def test_every_function_runs_on_the_python_the_tests_run_on(synthesized) -> None:
    # Given every synthesized stack of every environment
    templates = [template for stacks in synthesized.stacks.values() for template in stacks.values()]

    # When their functions and Powertools layer parameters are read
    runtimes = {
        resource["Properties"]["Runtime"]
        for template in templates
        for resource in template.get("Resources", {}).values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    layers = [
        parameter["Default"]
        for template in templates
        for name, parameter in template.get("Parameters", {}).items()
        if "PowertoolsLayerArn" in name
    ]

    # Then every function runs this interpreter's minor version, with the Powertools layer built for it
    assert runtimes == {RUNTIME}
    assert layers
    assert all(f"/python/x86_64/{RUNTIME}/" in layer for layer in layers)


def test_cdk_json_sets_the_flags_cdk_init_recommends() -> None:
    # Given the flags the pinned CDK CLI writes into a new project / When cdk.json is read
    recommended = json.loads(RECOMMENDED.read_text())
    context = json.loads((ROOT / "cdk.json").read_text())["context"]

    # Then every one is set as recommended (and nothing else)
    assert context == recommended


def test_an_app_built_without_the_cli_applies_cdk_json(synthesized) -> None:
    # Given the app the tests, `keel synth` and the local cloud build (no CDK CLI to hand cdk.json over)
    context = json.loads((ROOT / "cdk.json").read_text())["context"]

    # Then its context holds every flag, and the templates show two of them: literal partitions, merged statements
    assert all(synthesized.keel.app.node.try_get_context(flag) == value for flag, value in context.items())
    platform = json.dumps(synthesized.stacks["dev"]["keel-dev-platform"])
    assert "arn:aws:iam::" in platform
