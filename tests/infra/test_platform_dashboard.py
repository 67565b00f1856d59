"""The platform dashboard: one per environment, every automation, dead-letter queue and function on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dashboard_checks as dash
import pytest
import template_checks as checks

from infra.app_builder import ROOT
from infra.catalog import load_catalog
from infra.config import load_environments
from infra.errors import KeelConfigError

ENVIRONMENTS = load_environments(ROOT / "config" / "environments.yaml")
CATALOG = load_catalog(ROOT, ENVIRONMENTS)
ENV_NAMES = sorted(ENVIRONMENTS.environments)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_each_environment_has_a_platform_dashboard_showing_everything(synthesized, env) -> None:
    # Given an environment's template
    template = synthesized.template(env)

    # When its platform dashboard is rendered and compared with the template's own resources
    # Then the body is JSON; every state machine has executions, a success rate and p50/p90; every queue
    # something dead-letters into has its depth; every function its errors and throttles; pending
    # approvals are queried from the logs of exactly the state machines that wait for a task token
    assert len(checks.resources(template, "AWS::CloudWatch::Dashboard")) == len(CATALOG.automations) + 1
    dash.check_platform_dashboard(template, ENVIRONMENTS.get(env))


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_kind_of_dead_letter_queue_is_found_and_shown(synthesized, env) -> None:
    # Given the queues the template dead-letters into, found from the resources that use them
    template = synthesized.template(env)
    environment = ENVIRONMENTS.get(env)
    names = {checks.properties(template, logical_id)["QueueName"] for logical_id in dash.dead_letter_queue_ids(template)}

    # Then they include each automation's rule DLQ, its own queues' DLQs and each on-call route's undelivered pages
    expected = {f"keel-{env}-{automation.name}-dlq" for automation in CATALOG.automations}
    expected |= {
        f"keel-{env}-{automation.name}-{queue}-dlq"
        for automation in CATALOG.automations
        if automation.manifest.queues is not None
        for queue in automation.manifest.queues.names
    }
    expected |= {f"keel-{env}-oncall-{route}-undelivered" for route in environment.oncall_routes}
    assert expected == names
    # and the dashboard labels each by what it holds
    graph = dash.widgets_with(dash.platform_dashboard(template, env), "AWS/SQS", "ApproximateNumberOfMessagesVisible")[0]
    labels = {dash.options(row)["label"] for row in dash.metric_rows(graph)}
    assert {f"on-call {route}: pages not delivered" for route in environment.oncall_routes} <= labels
    assert {f"{automation.name}: events not started" for automation in CATALOG.automations} <= labels


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_approval_requests_graph_reads_the_metric_request_approval_emits(synthesized, env) -> None:
    # Given the deployed request_approval's Powertools settings and the dashboard
    template = synthesized.template(env)
    body = dash.platform_dashboard(template, env)

    # Then requests sent (TaskSucceeded) and failed (TaskFailed) are graphed in its namespace, with its
    # service and environment dimensions (functions/shared/handler.py emits both on every invocation)
    assert dash.approval_request_metrics(template, body, env) == {"TaskSucceeded", "TaskFailed"}


# --- The checks fail when the dashboard misses something ----------------------------------------


def copy_of(template: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(template))
    return copied


def resource_named(template: dict[str, Any], kind: str, marker: str) -> dict[str, Any]:
    return next(r for r in checks.resources(template, kind).values() if marker in json.dumps(r))


def platform_dashboard_props(template: dict[str, Any]) -> dict[str, Any]:
    return checks.properties(
        template, checks.find_by(template, "AWS::CloudWatch::Dashboard", "DashboardName", "keel-dev-platform")
    )


def add_dead_letter_queue(template: dict[str, Any]) -> None:
    template["Resources"]["ExtraDeadLetters"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "extra-dlq"}}
    rule = resource_named(template, "AWS::Events::Rule", "platform_heartbeat")
    rule["Properties"]["Targets"][0]["DeadLetterConfig"] = {"Arn": {"Fn::GetAtt": ["ExtraDeadLetters", "Arn"]}}


def add_copy(kind: str, marker: str, new_id: str) -> Callable[[dict[str, Any]], None]:
    def change(template: dict[str, Any]) -> None:
        template["Resources"][new_id] = copy_of(resource_named(template, kind, marker))

    return change


def edit_body(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    """Replace text in the platform dashboard's body (its literal parts)."""

    def change(template: dict[str, Any]) -> None:
        body = platform_dashboard_props(template)["DashboardBody"]
        parts = body["Fn::Join"][1]
        assert any(isinstance(part, str) and old in part for part in parts), f"'{old}' not in the body"
        body["Fn::Join"][1] = [part.replace(old, new) if isinstance(part, str) else part for part in parts]

    return change


def heartbeat_waits_for_a_token(template: dict[str, Any]) -> None:
    machine = resource_named(template, "AWS::StepFunctions::StateMachine", "platform_heartbeat")["Properties"]
    machine["DefinitionString"] = machine["DefinitionString"].replace("lambda:invoke", "lambda:invoke.waitForTaskToken", 1)


def rename_dashboard(template: dict[str, Any]) -> None:
    platform_dashboard_props(template)["DashboardName"] = "other"


VIOLATIONS = {
    "dlq-not-shown": (add_dead_letter_queue, dash.check_dead_letter_queues),
    "state-machine-not-shown": (
        add_copy("AWS::StepFunctions::StateMachine", "platform_heartbeat", "Extra"),
        dash.check_executions,
    ),
    "no-success-rate-for-one": (
        add_copy("AWS::StepFunctions::StateMachine", "platform_heartbeat", "Extra"),
        dash.check_success_rate,
    ),
    "success-rate-of-failures": (edit_body("100 * FILL(s0, 0)", "100 * FILL(f0, 0)"), dash.check_success_rate),
    "no-p90": (edit_body('"stat":"p90"', '"stat":"p99"'), dash.check_durations),
    "function-not-shown": (add_copy("AWS::Lambda::Function", "keel-dev-emit_heartbeat", "ExtraFunction"), dash.check_functions),
    "approval-logs-missed": (heartbeat_waits_for_a_token, dash.check_pending_approvals),
    "approval-query-wrong-events": (edit_body('\\"TaskSubmitted\\"]', '\\"TaskSucceeded\\"]'), dash.check_pending_approvals),
    "range-too-short": (edit_body('"start":"-PT24H"', '"start":"-PT0H"'), dash.check_pending_approvals),
    "body-not-json": (edit_body('{"start"', "{start"), dash.check_platform_dashboard),
    "no-dashboard": (rename_dashboard, dash.check_platform_dashboard),
}


def run(check: Callable[..., None], template: dict[str, Any]) -> None:
    environment = ENVIRONMENTS.get("dev")
    if check is dash.check_platform_dashboard:
        check(template, environment)
    else:
        check(template, dash.platform_dashboard(template, "dev"), environment)


@pytest.mark.parametrize(("change", "check"), VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_the_dashboard_checks_catch_a_violation(synthesized, change, check) -> None:
    # Given the dev template, on which the check passes
    template = synthesized.template("dev")
    run(check, template)

    # When one guarantee is broken
    broken = copy_of(template)
    change(broken)

    # Then that check fails
    with pytest.raises((AssertionError, json.JSONDecodeError)):
        run(check, broken)


# --- Catalogs the real one does not have --------------------------------------------------------


def test_an_automation_named_like_the_platform_dashboard_is_rejected(temp_repo) -> None:
    # Given an automation named "platform": its dashboard would be keel-<env>-platform
    manifest = temp_repo.manifest_data(
        name="platform", workflow={"definition": "platform.asl.json", "type": "standard", "timeout_seconds": 60}
    )
    path = temp_repo.add_automation(manifest)

    # When the app is built / Then it stops, naming the manifest and the field
    with pytest.raises(KeelConfigError, match="reserved") as error:
        temp_repo.build_app(["dev"])
    assert error.value.path == str(path)
    assert error.value.field == "name"


@pytest.fixture(scope="module")
def heartbeat_only(tmp_path_factory, make_temp_repo) -> dict[str, Any]:
    """dev with the heartbeat automation alone: nothing waits for an approval, request_approval is unused."""
    repo = make_temp_repo(tmp_path_factory.mktemp("heartbeat_only") / "repo")
    for path in (repo.root / "automations").glob("*.yaml"):
        if path.stem != "platform_heartbeat":
            path.unlink()
    templates: dict[str, dict[str, Any]] = repo.synthesize(["dev"])
    return templates["dev"]


def test_without_approvals_the_dashboard_says_so_and_shows_the_rest(heartbeat_only) -> None:
    # Given dev with only the heartbeat automation
    body = dash.platform_dashboard(heartbeat_only, "dev")

    # Then there is no log query and no approval graph, but a note saying why
    assert [widget for widget in body["widgets"] if widget["type"] == "log"] == []
    assert dash.widgets_with(body, "Keel", "TaskSucceeded") == []
    texts = [widget["properties"]["markdown"] for widget in body["widgets"] if widget["type"] == "text"]
    assert any("No automation here waits for an approval" in text for text in texts)
    # and the rest of the page still covers the one automation, its DLQ and its function
    dash.check_executions(heartbeat_only, body)
    dash.check_success_rate(heartbeat_only, body)
    dash.check_dead_letter_queues(heartbeat_only, body)
    dash.check_functions(heartbeat_only, body)
