"""pyproject.toml's mypy settings: every aws_cdk module Keel's code imports is type-checked, not skipped.

mypy follows only the aws_cdk modules listed in pyproject.toml (the rest are Any, for speed): a module
imported by Keel's code but missing from the list would be Any too, and mistakes in its use unchecked."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_cdk_modules(files: list[Path]) -> set[str]:
    """Every aws_cdk module (aws_cdk, aws_cdk.aws_sqs, ...) the files import, by any import form."""
    found: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "aws_cdk"}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "aws_cdk":
                found.add(node.module)
                if node.module == "aws_cdk":
                    found |= {f"aws_cdk.{alias.name}" for alias in node.names if alias.name.startswith("aws_")}
    return found


def followed_modules(mypy: dict[str, object]) -> set[str]:
    overrides = mypy["overrides"]
    assert isinstance(overrides, list)
    return {module for override in overrides if override.get("follow_imports") == "normal" for module in override["module"]}


def test_every_aws_cdk_module_keels_code_imports_is_type_checked() -> None:
    # Given the files mypy checks and its overrides in pyproject.toml
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    entries = [ROOT / entry for entry in mypy["files"]]
    files = [path for entry in entries for path in ([entry] if entry.suffix == ".py" else entry.rglob("*.py"))]

    # When the aws_cdk modules they import are listed
    imported = imported_cdk_modules(files)

    # Then there are some (the scan works), the rest of aws_cdk is skipped, and each imported one is followed
    assert {"aws_cdk", "aws_cdk.aws_iam", "aws_cdk.aws_stepfunctions"} <= imported
    assert any(override["module"] == ["aws_cdk.*"] and override["follow_imports"] == "skip" for override in mypy["overrides"])
    assert imported - followed_modules(mypy) == set()


def test_the_scan_finds_each_import_form(tmp_path: Path) -> None:
    # Given a file importing aws_cdk modules in the three ways Python allows
    source = tmp_path / "stack.py"
    source.write_text("import aws_cdk.aws_ec2\nfrom aws_cdk.aws_s3 import Bucket\nfrom aws_cdk import Stack, aws_ecs as ecs\n")

    # When it is scanned / Then each module is found
    assert imported_cdk_modules([source]) == {"aws_cdk.aws_ec2", "aws_cdk.aws_s3", "aws_cdk", "aws_cdk.aws_ecs"}
