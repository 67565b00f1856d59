"""Safe change end to end in the local cloud: version 2 of alarm_remediation deployed in shadow beside
version 1, `keel ops compare` showing where it decides differently, a canary sending a share of events
to it, an alarm rolling it back, and an execution started on version 1 finishing on version 1's code."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.shared.domain.decisions import Decision
from keel.cli import main
from keel.local.cloud import LocalCloud
from keel.local.eventbridge import load_event_file
from keel.local.template import EnvironmentTemplate, StackTemplate, load_environment
from keel.local.world import apply_worlds, template_variables, worlds_for

ROOT = Path(__file__).resolve().parents[2]
ALARMS = ROOT / "events" / "alarm_remediation"
RESTART = ALARMS / "api-5xx-restart.json"
SCALE_OUT = ALARMS / "payments-cpu-scale-out.json"
SAMPLE_ACCOUNT = "111111111111"
MACHINE = ":stateMachine:keel-prod-alarm_remediation"
MACHINE_ARN = "arn:aws:states:eu-west-1:{}:stateMachine:keel-prod-alarm_remediation"
SHADOW_ARN = MACHINE_ARN + "-shadow"


def version_2(repo: Path) -> None:
    """alarm_remediation 2.0.0: its catalog drops the CPU scale-out runbook (a different decision), and
    a regression fails every 5xx restart in match_runbook (what the canary's alarm catches)."""
    catalog_path = repo / "functions" / "match_runbook" / "runbooks.json"
    catalog = json.loads(catalog_path.read_text())
    catalog["version"] = "2026.12.1"
    catalog["runbooks"] = [runbook for runbook in catalog["runbooks"] if runbook["id"] != "ecs-cpu-scale-out"]
    catalog_path.write_text(json.dumps(catalog, indent=2))
    logic = repo / "functions" / "match_runbook" / "logic.py"
    source = logic.read_text()
    marker = "    target = resolve_target(runbook, signal)\n"
    assert marker in source
    logic.write_text(
        source.replace(marker, '    if runbook.id == "ecs-5xx-restart":\n        raise ValueError("regression")\n' + marker)
    )
    # Shared code every module packages: each module's code version changes.
    reasons = repo / "functions" / "shared" / "domain" / "reasons.py"
    reasons.write_text(reasons.read_text() + "\n# 2.0.0\n")


def manifest(repo: Path, **changes: Any) -> None:
    path = repo / "automations" / "alarm_remediation.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def assemblies(make_temp_repo: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, EnvironmentTemplate]:
    """Version 2's prod stacks: deployed in shadow, then (shadow removed) as a 50% canary."""
    repo = make_temp_repo(tmp_path_factory.mktemp("safe-change") / "repo")
    version_2(repo.root)
    rollout = {"prod": {"rollout": {"strategy": "canary", "percent": 50, "interval_minutes": 10}}}
    manifest(repo.root, version="2.0.0", shadow={"version": "2.0.0"}, environments=rollout)
    repo.synthesize(["prod"])
    shadow_out = repo.root / "cdk.out-shadow"
    # Copied, not moved: the second synth stages into the same directory only the assets it lacks.
    shutil.copytree(repo.outdir, shadow_out)
    manifest(repo.root, shadow=None)
    data = yaml.safe_load((repo.root / "automations" / "alarm_remediation.yaml").read_text())
    data.pop("shadow")
    (repo.root / "automations" / "alarm_remediation.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    repo.synthesize(["prod"])
    return {"shadow": load_environment(shadow_out, "prod"), "canary": load_environment(repo.outdir, "prod")}


def remediation_stack(template: EnvironmentTemplate) -> StackTemplate:
    [stack] = [stack for stack in template.stacks if stack.stack_name.endswith("alarm-remediation")]
    return stack


def event(path: Path, template: EnvironmentTemplate, event_id: str | None = None) -> dict[str, Any]:
    sample = json.loads(json.dumps(load_event_file(path).event).replace(SAMPLE_ACCOUNT, template.account))
    if event_id is not None:
        sample["id"] = event_id
    return dict(sample)


@pytest.fixture
def prod_cloud(assembly: Path) -> Iterator[LocalCloud]:
    template = load_environment(assembly, "prod")
    with LocalCloud(template) as cloud:
        apply_worlds(worlds_for([RESTART, SCALE_OUT]), cloud.client, template_variables(template.account, template.region))
        yield cloud


def code_versions(template: EnvironmentTemplate) -> set[str]:
    """KEEL_CODE_VERSION of each of the automation's functions in this template (their package digests)."""
    return {
        str(resource["Properties"]["Environment"]["Variables"]["KEEL_CODE_VERSION"])
        for resource in remediation_stack(template).resources.values()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def ops(capsys: pytest.CaptureFixture[str], *words: str) -> tuple[int, str]:
    code = main(["ops", *words, "--env", "prod"])
    return code, capsys.readouterr().out


def decisions(cloud: LocalCloud) -> list[Decision]:
    return [record.decision for record in cloud.operator().decisions.chain("alarm_remediation")]


def routing(cloud: LocalCloud, alias: str) -> dict[str, int]:
    found = cloud.releases.get(alias)
    assert found is not None
    return dict(found.routing)


def restart(cloud: LocalCloud, event_id: str | None = None) -> str:
    """Deliver a 5xx alarm; the execution of the live automation it started (through the alias)."""
    [execution] = [d.execution_arn for d in cloud.deliver(event(RESTART, cloud.template, event_id)) if d.target.endswith(MACHINE)]
    assert execution is not None
    return execution


def check_shadow_run(cloud: LocalCloud, started: dict[str, str | None], v1: str) -> None:
    """The live run is version 1's, through the alias; the shadow run decided as version 2, in dry run."""
    live_run, shadow_run = started[MACHINE_ARN.format(cloud.template.account)], started[SHADOW_ARN.format(cloud.template.account)]
    assert live_run is not None
    assert shadow_run is not None
    assert cloud.execution_version(live_run)[0] == v1
    candidate = [decision for decision in decisions(cloud) if decision.execution_arn == shadow_run]
    assert [d.action for d in candidate] == ["no_runbook"]
    assert all(d.shadow and d.dry_run and d.automation_version == "2.0.0" for d in candidate)
    # (the shadow machine runs its latest revision, the candidate: no version, no alias)
    assert {(d.state_machine_version, d.state_machine_alias) for d in candidate} == {(None, None)}
    assert any(d.action == "ecs_scale_out" and d.outcome == "taken" and not d.shadow for d in decisions(cloud))


def check_comparison(gated: tuple[int, str], compared: tuple[int, str], event_id: str) -> None:
    """The differing decision (action and rule of each side, with evidence), and the gate failing."""
    code, out = gated
    assert code == 1, out
    for shown in (event_id, "ecs_scale_out [runbook ecs-cpu-scale-out (catalog 2026.11.2)]", "no_runbook [-]"):
        assert shown in out
    assert "no runbook in catalog 2026.12.1" in out
    assert "below --min-agreement 95%" in out
    code, out = compared
    assert code == 0
    assert {key: json.loads(out)[key] for key in ("candidate", "compared", "agreement")} == {
        "candidate": "2.0.0",
        "compared": 1,
        "agreement": 0.0,
    }


def check_finished_on_version_1(cloud: LocalCloud, execution: str, version_2: EnvironmentTemplate) -> None:
    """Every decision the execution made after version 2 was deployed carries version 1's packages, and
    names the state machine version and alias it ran on."""
    assert cloud.execution_status(execution) == "SUCCEEDED"
    finished = [d for d in decisions(cloud) if d.execution_arn == execution]
    # (the workflow's own decisions: the operator's answer to its approval request is the operator's)
    made = {(d.state_machine_version, d.state_machine_alias) for d in finished if not d.approved_by}
    assert made == {cloud.execution_version(execution)}
    assert {d.action for d in finished} >= {"ecs_force_new_deployment", "verify:alarm_ok"}
    acted = {d.code_version for d in finished if d.step in ("Act", "Verify")}
    assert acted
    assert acted <= code_versions(cloud.template)
    assert not {d.code_version for d in finished} & code_versions(version_2)
    assert {d.automation_version for d in finished} == {"1.0.0"}


def canary(cloud: LocalCloud, alias: str, events: int) -> tuple[str, list[str | None]]:
    """Version 2's target version, and the version each of `events` 5xx alarms ran on, two minutes apart."""
    shifting = cloud.releases.get(alias)
    assert shifting is not None
    assert shifting.shift is not None
    target = shifting.shift.target
    ran: list[str | None] = []
    for number in range(events):
        execution = restart(cloud, f"canary-{number}")
        cloud.drive(expire_waits=False)
        ran.append(cloud.execution_version(execution)[0])
        cloud.clock.advance(120)
    return target, ran


def test_version_2_in_shadow_then_a_canary_rolled_back_by_an_alarm(
    prod_cloud: LocalCloud, assemblies: dict[str, EnvironmentTemplate], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given version 1 live in prod, and an execution of it waiting for approval of a restart
    cloud = prod_cloud
    waiting = restart(cloud)
    cloud.drive(expire_waits=False)
    assert waiting in cloud.blocked
    v1, alias = cloud.execution_version(waiting)
    assert (v1 or "").endswith(":1")
    assert alias == f"{MACHINE_ARN.format(cloud.template.account)}:live"

    # When version 2 is deployed in shadow, and a CPU alarm arrives
    cloud.deploy(remediation_stack(assemblies["shadow"]))
    scale_out = event(SCALE_OUT, cloud.template)
    started = {delivery.target: delivery.execution_arn for delivery in cloud.deliver(scale_out)}
    cloud.drive(expire_waits=False)

    # Then the live alias still routes every event to version 1, and version 2 decided in forced dry run
    check_shadow_run(cloud, started, str(v1))

    # When the team compares the candidate with the live version, gating at 95% agreement
    gated = ops(capsys, "compare", "alarm_remediation", "--min-agreement", "0.95")
    compared = ops(capsys, "compare", "alarm_remediation", "--json")

    # Then the differing decision is shown, with the evidence, and the gate fails
    check_comparison(gated, compared, scale_out["id"])

    # When the approval of the execution started on version 1 comes after version 2 was deployed
    cloud.drive("approve")

    # Then it finishes on version 1's code
    check_finished_on_version_1(cloud, waiting, assemblies["shadow"])

    # When version 2 goes out as a 50% canary (shadow removed), once the shadow run's alarms are quiet
    cloud.clock.advance(600)
    cloud.deploy(remediation_stack(assemblies["canary"]))
    v2, ran = canary(cloud, alias, events=8)

    # Then a share of the events ran on version 2, its failures fired an alarm, the alarm rolled it
    # back, and every later event ran on version 1
    assert v1 in ran
    assert v2 in ran
    rolled = cloud.releases.get(alias)
    assert rolled is not None
    assert (rolled.status, rolled.routing) == ("rolled_back", {v1: 100})
    assert "in ALARM" in rolled.history[-1]
    assert set(ran[ran.index(v2) + 2 :]) == {v1}
    code, out = ops(capsys, "versions", "alarm_remediation")
    assert code == 0
    assert f"{v1}  100%" in out


def test_operators_promote_and_roll_back_the_live_alias_and_each_move_is_a_recorded_decision(
    prod_cloud: LocalCloud, assemblies: dict[str, EnvironmentTemplate], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given version 2 deployed as a canary, shifting from version 1
    cloud = prod_cloud
    cloud.deploy(remediation_stack(assemblies["canary"]))
    alias = f"{MACHINE_ARN.format(cloud.template.account)}:live"
    shift = cloud.releases.get(alias)
    assert shift is not None
    assert shift.shift is not None
    v1, v2 = shift.shift.source, shift.shift.target

    # When an operator promotes it, then rolls it back
    promoted, out_promote = ops(capsys, "promote", "alarm_remediation", "--reason", "canary clean for an hour")
    after_promote = routing(cloud, alias)
    rolled, out_rollback = ops(capsys, "rollback", "alarm_remediation", "--reason", "orders team reports slow restarts")
    execution = restart(cloud)
    cloud.drive(expire_waits=False)

    # Then the alias routes all events to version 2, then to version 1 again, which runs the next event
    assert promoted == 0
    assert after_promote == {v2: 100}
    assert f"now routes all events to {v2}" in out_promote
    assert rolled == 0, out_rollback
    assert routing(cloud, alias) == {v1: 100}
    assert cloud.execution_version(execution)[0] == v1
    # And each move is in the decision record, with who did it and why, and the chain verifies
    moves = [d for d in decisions(cloud) if d.step.startswith("operator:")]
    assert [(d.action, d.reason, d.details["to"]) for d in moves] == [
        ("promote", "canary clean for an hour", v2),
        ("rollback", "orders team reports slow restarts", v1),
    ]
    assert all(d.approved_by and d.outcome == "taken" for d in moves)
    assert ops(capsys, "verify-chain", "alarm_remediation")[0] == 0


def test_a_move_of_an_unknown_automation_is_refused_naming_the_known_ones(
    prod_cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the prod environment deployed
    # When an operator rolls back a misspelt automation
    code = main(["ops", "rollback", "alarm_remediaton", "--reason", "typo", "--env", "prod"])

    # Then it is refused in one line naming the automations there, the shadow machines not among them
    error = capsys.readouterr().err
    assert code == 1
    assert error.count("\n") == 1
    assert "unknown automation 'alarm_remediaton'" in error
    assert "alarm_remediation" in error
    assert "-shadow" not in error
