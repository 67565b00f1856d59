"""Each automation deploys on its own: a change to one changes only its own stack.

The repository is synthesized, changed, and synthesized again; the templates are compared stack by
stack, as `cdk deploy` (which skips a stack whose template did not change) would compare them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import template_checks as checks

AUTOMATION = "platform_heartbeat"
STACK = "keel-dev-automation-platform-heartbeat"
# emit_heartbeat is platform_heartbeat's alone; request_approval is shared by three automations.
OWN_MODULE = "emit_heartbeat"
SHARED_MODULE = "request_approval"


def changed(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> set[str]:
    assert set(before) == set(after), "stacks appeared or disappeared"
    return {name for name in before if before[name] != after[name]}


def append(path: Any, text: str) -> None:
    path.write_text(path.read_text() + text)


@pytest.fixture(scope="module")
def versions(tmp_path_factory, make_temp_repo) -> dict[str, dict[str, dict[str, Any]]]:
    """dev synthesized three times: as it is, after a change to one automation, after a shared module change."""
    repo = make_temp_repo(tmp_path_factory.mktemp("independent") / "repo")
    synthesized = {"before": repo.synthesize_stacks(["dev"])["dev"]}
    # One automation's manifest (a new version), its workflow (an ASL comment) and its own module's code
    manifest = repo.root / "automations" / f"{AUTOMATION}.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.0.1"))
    asl_path = repo.root / "statemachines" / f"{AUTOMATION}.asl.json"
    definition = json.loads(asl_path.read_text())
    definition["Comment"] = "changed by test_independent_change"
    asl_path.write_text(json.dumps(definition, indent=2))
    append(repo.root / "functions" / OWN_MODULE / "logic.py", "\n# changed by test_independent_change\n")
    synthesized["one automation"] = repo.synthesize_stacks(["dev"])["dev"]
    append(repo.root / "functions" / SHARED_MODULE / "logic.py", "\n# changed by test_independent_change\n")
    synthesized["shared module"] = repo.synthesize_stacks(["dev"])["dev"]
    return synthesized


def test_a_change_to_one_automation_changes_only_its_own_stack(versions) -> None:
    # Given dev before and after a change to platform_heartbeat's manifest, ASL and own module
    before, after = versions["before"], versions["one automation"]

    # Then only its stack's template differs: the platform, the other automations and the teams are untouched
    assert changed(before, after) == {STACK}
    # And each of the three changes is in it: the version, the workflow, the code
    template = after[STACK]
    machine = checks.properties(template, checks.state_machine_id(template, "dev", AUTOMATION))
    assert checks.tags(machine)["keel:version"] == "1.0.1"
    assert "changed by test_independent_change" in machine["DefinitionString"]
    code_versions = [
        checks.properties(t, checks.function_id(t, "dev", AUTOMATION, OWN_MODULE))["Environment"]["Variables"][
            "KEEL_CODE_VERSION"
        ]
        for t in (before[STACK], template)
    ]
    assert code_versions[0] != code_versions[1]


def test_a_change_to_a_shared_module_changes_the_stacks_of_the_automations_that_use_it(versions) -> None:
    # Given request_approval's code changed, after the first change
    before, after = versions["one automation"], versions["shared module"]

    # Then exactly the stacks of the automations using it changed: each gets the new code when its
    # team deploys its stack, not before
    users = {"alarm_remediation", "security_finding_response", "ticket_triage"}
    assert changed(before, after) == {f"keel-dev-automation-{name.replace('_', '-')}" for name in users}
