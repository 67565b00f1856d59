"""functions/<module>/function.yaml: what a module may do, declared beside its code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from infra.errors import KeelConfigError
from infra.function_spec import load_function_specs


@pytest.fixture
def functions_dir(temp_repo) -> Path:
    return temp_repo.root / "functions"


def add_module(functions_dir: Path, module: str, spec: dict, *, handler: bool = True) -> Path:
    folder = functions_dir / module
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    if handler:
        (folder / "handler.py").write_text("def lambda_handler(event, context):\n    return event\n")
    path = folder / "function.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


SPEC = {"description": "Posts a comment", "memory_mb": 256, "timeout_seconds": 30}


def test_the_real_specs_load(repo_root: Path) -> None:
    # Given the repository's function modules / When their specs are loaded
    specs = load_function_specs(repo_root / "functions")

    # Then each module is keyed by its folder, with the handler path used everywhere
    heartbeat = specs["emit_heartbeat"]
    assert heartbeat.handler == "functions.emit_heartbeat.handler.lambda_handler"
    assert (heartbeat.memory_mb, heartbeat.timeout_seconds) == (256, 10)
    assert heartbeat.platform_access == ["idempotency_table", "approvals_table_read"]
    assert "shared" not in specs


@pytest.mark.parametrize("action", ["*", "s3:*", "s3:Get*", "s3:GetObject*", "GetObject"])
def test_a_wildcard_or_malformed_action_is_rejected(functions_dir, action) -> None:
    # Given a module declaring a wildcard action
    spec = {**SPEC, "permissions": [{"actions": ["s3:PutObject", action], "resources": ["arn:aws:s3:::bucket/key"]}]}
    path = add_module(functions_dir, "post_comment", spec)

    # When the specs are loaded / Then the statement's actions are named
    with pytest.raises(KeelConfigError) as caught:
        load_function_specs(functions_dir)
    assert (caught.value.path, caught.value.field) == (str(path), "permissions.0.actions")
    assert "no wildcards" in caught.value.message


def test_a_wildcard_resource_is_rejected(functions_dir) -> None:
    # Given a module declaring an action on every resource
    spec = {
        **SPEC,
        "permissions": [
            {"actions": ["ssm:GetParameter"], "resources": ["arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:parameter/*"]}
        ],
    }
    path = add_module(functions_dir, "post_comment", spec)

    # When the specs are loaded / Then the resources are named
    with pytest.raises(KeelConfigError) as caught:
        load_function_specs(functions_dir)
    assert (caught.value.path, caught.value.field) == (str(path), "permissions.0.resources")
    assert "contains a wildcard" in caught.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"memory_mb": 64}, "memory_mb"),
        ({"timeout_seconds": 901}, "timeout_seconds"),
        ({"platform_access": ["everything"]}, "platform_access.0"),
        ({"role": "admin"}, "role"),
    ],
)
def test_bad_sizes_and_access_are_rejected(functions_dir, changes, field) -> None:
    # Given a module spec with an out-of-range or unknown setting
    path = add_module(functions_dir, "post_comment", {**SPEC, **changes})

    # When the specs are loaded / Then the setting is named
    with pytest.raises(KeelConfigError) as caught:
        load_function_specs(functions_dir)
    assert (caught.value.path, caught.value.field) == (str(path), field)


def test_a_spec_without_handler_is_rejected(functions_dir) -> None:
    # Given a function.yaml whose module has no handler.py
    path = add_module(functions_dir, "post_comment", SPEC, handler=False)

    # When the specs are loaded / Then the missing handler is named
    with pytest.raises(KeelConfigError, match=r"functions/post_comment/handler.py is missing") as caught:
        load_function_specs(functions_dir)
    assert caught.value.path == str(path)


def test_a_spec_that_is_not_yaml_is_rejected(functions_dir) -> None:
    # Given a broken function.yaml
    path = add_module(functions_dir, "post_comment", SPEC)
    path.write_text("memory_mb: [256\n")

    # When the specs are loaded / Then the file is named as a whole
    with pytest.raises(KeelConfigError) as caught:
        load_function_specs(functions_dir)
    assert (caught.value.path, caught.value.field) == (str(path), "(document)")


def test_a_module_without_spec_is_not_a_function(functions_dir) -> None:
    # Given a helper package with no function.yaml
    shutil.copytree(functions_dir / "emit_heartbeat", functions_dir / "helpers")
    (functions_dir / "helpers" / "function.yaml").unlink()

    # When the specs are loaded / Then it is not deployed as a function
    specs = load_function_specs(functions_dir)
    assert "emit_heartbeat" in specs
    assert "helpers" not in specs
