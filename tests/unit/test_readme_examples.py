"""The README's examples are real: its manifest and function.yaml snippets validate."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import yaml

from infra.config import SecretSpec
from infra.function_spec import FunctionSpec
from infra.manifest import Manifest, Workflow
from infra.workflow_defaults import WorkflowPlan, with_defaults
from keel.local.world import World
from keel.manifest_schema import MODELINE

README = Path(__file__).resolve().parents[2] / "README.md"


def _yaml_blocks() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return [textwrap.dedent(block) for block in blocks]


def test_readme_manifest_example_is_a_valid_manifest() -> None:
    # Given the README's manifest example
    manifest_block = next(block for block in _yaml_blocks() if block.startswith(f"{MODELINE}\nname:"))
    # When it is validated by the manifest model
    manifest = Manifest.model_validate(yaml.safe_load(manifest_block))
    # Then it parses, with its per-environment overrides applied
    assert manifest.name == "disk_cleanup"
    assert manifest.resolved_for("dev").limits.dry_run is True
    assert manifest.resolved_for("prod").approval_required is True


def test_readme_function_spec_example_is_valid() -> None:
    # Given the README's function.yaml example
    spec_block = next(block for block in _yaml_blocks() if block.startswith("description:"))
    # When it is validated
    spec = FunctionSpec(module="free_disk_space", **yaml.safe_load(spec_block))
    # Then its handler path is the import path used everywhere
    assert spec.handler == "functions.free_disk_space.handler.lambda_handler"
    assert spec.permissions[0].actions == ["ecs:UpdateService"]


def test_readme_shared_workflow_example_binds_a_placeholder() -> None:
    # Given the README's shared-workflow block
    block = next(block for block in _yaml_blocks() if block.startswith("workflow:"))
    # When it is validated / Then ${act} is bound to the acting module and failures are escalated
    workflow = Workflow.model_validate(yaml.safe_load(block)["workflow"])
    assert workflow.substitutions == {"act": "contain_threat"}
    assert workflow.failure.notify == "escalation"


def test_readme_task_example_gets_keels_defaults() -> None:
    # Given the README's module task, which names only its own payload field
    block = next(b for b in re.findall(r"```json\n(.*?)```", README.read_text(), flags=re.DOTALL) if '"Plan"' in b)
    state = json.loads("{" + re.sub(r"(?m)^   ", "", block) + "}")["Plan"]
    plan = WorkflowPlan(
        modules={"free_disk_space": "not_idempotent", "record_decision": "idempotent"}, failure_state=None, notify="oncall"
    )
    # When Keel completes it
    completed = with_defaults({"StartAt": "Plan", "States": {"Plan": state, "Done": {"Type": "Succeed"}}}, plan)
    # Then it carries the header, the standard Retry and the catch-all
    task = completed["States"]["Plan"]
    assert list(task["Parameters"]["Payload"]) == ["event_id.$", "execution.$", "keel.$", "step.$", "alarm.$"]
    assert "TransientError" in task["Retry"][0]["ErrorEquals"]
    assert task["Catch"][-1]["Next"] == "KeelRecordFailure"


def _python_blocks() -> list[str]:
    return [textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)]


def test_readme_stub_example_runs_and_its_test_passes() -> None:
    # Given the README's example of stubbing an external call through the dependencies
    block = next(block for block in _python_blocks() if "class FakeTickets" in block)
    namespace: dict[str, object] = {}
    exec(  # the README's own example, run to prove it works as shown
        "from __future__ import annotations\nfrom dataclasses import dataclass, field\nfrom typing import Protocol\n" + block,
        namespace,
    )
    # When its test runs / Then it passes
    test = namespace["test_an_escalation_opens_one_ticket"]
    assert callable(test)
    test()


def test_readme_world_example_is_a_valid_world() -> None:
    block = next(block for block in _yaml_blocks() if block.startswith("calls:"))
    world = World.model_validate(yaml.safe_load(block))
    assert [call.call for call in world.calls] == ["ecs.create_cluster", "ec2.run_instances"]


def test_readme_secret_example_is_a_valid_secret_catalog() -> None:
    block = next(block for block in _yaml_blocks() if block.startswith("secrets:"))
    secrets = yaml.safe_load(block)["secrets"]
    spec = SecretSpec.model_validate(secrets["chat-webhook-key"])
    assert spec.rotation_days == 30
