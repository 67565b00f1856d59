"""The platform dashboard: one per environment, every automation, dead-letter queue and function on it,
at a size that does not depend on the catalog; and a dashboard per owning team, in the team's stack."""

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
def test_each_environment_has_a_platform_dashboard_that_finds_everything(synthesized, env) -> None:
    # Given an environment's stacks
    template = synthesized.template(env)

    # When its platform dashboard is rendered and compared with the environment's own resources
    # Then the body is JSON; executions, success rate, p50/p90, DLQ depth, Lambda errors and throttles,
    # pending approvals and approval requests are each searched for in this environment only, and the
    # searches find every state machine, function and dead-letter queue it has
    dash.check_platform_dashboard(template, ENVIRONMENTS.get(env))
    # And it lives in the platform stack, beside one dashboard per automation and one per team
    platform = synthesized.stacks[env][f"keel-{env}-platform"]
    assert len(checks.resources(platform, "AWS::CloudWatch::Dashboard")) == 1
    owners = {automation.manifest.owner for automation in CATALOG.automations}
    assert len(checks.resources(template, "AWS::CloudWatch::Dashboard")) == 1 + len(CATALOG.automations) + len(owners)


@pytest.mark.parametrize("env", ENV_NAMES)
def test_every_kind_of_dead_letter_queue_is_found_by_the_dashboard(synthesized, env) -> None:
    # Given the queues the environment dead-letters into, found from the resources that use them
    template = synthesized.template(env)
    environment = ENVIRONMENTS.get(env)
    names = {checks.properties(template, logical_id)["QueueName"] for logical_id in dash.dead_letter_queue_ids(template)}

    # Then they are each automation's rule DLQ, its own queues' DLQs and each on-call route's undelivered pages
    expected = {f"keel-{env}-{automation.name}-dlq" for automation in CATALOG.automations}
    expected |= {
        f"keel-{env}-{automation.name}-{queue}-dlq"
        for automation in CATALOG.automations
        if automation.manifest.queues is not None
        for queue in automation.manifest.queues.names
    }
    expected |= {f"keel-{env}-oncall-{route}-undelivered" for route in environment.oncall_routes}
    assert expected == names
    # And the dashboard finds every one of them
    body = dash.platform_dashboard(template, env)
    for name in names:
        assert dash.found_by(body, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", name), name


@pytest.mark.parametrize("env", ENV_NAMES)
def test_the_approval_graphs_read_the_metrics_the_functions_emit(synthesized, env) -> None:
    # Given the deployed request_approval and emit_heartbeat's Powertools settings and the dashboard
    template = synthesized.template(env)
    body = dash.platform_dashboard(template, env)
    request_approval = next(a for a in CATALOG.automations if "request_approval" in a.manifest.functions)
    function = checks.properties(template, checks.function_id(template, env, request_approval.name, "request_approval"))
    variables = function["Environment"]["Variables"]

    # Then requests sent and failed are searched in its namespace, for its service, in this environment
    keel_searches = [(schema, terms) for schema, terms, _ in dash.searches(body) if schema.startswith("Keel")]
    for metric in ("TaskSucceeded", "TaskFailed"):
        assert any(
            schema.split(",")[0] == variables["POWERTOOLS_METRICS_NAMESPACE"]
            and f'MetricName="{metric}"' in terms
            and f'service="{variables["POWERTOOLS_SERVICE_NAME"]}"' in terms
            and f'environment="{variables["KEEL_ENVIRONMENT"]}"' in terms
            for schema, terms in keel_searches
        ), metric
    # And pending approvals are the metric the heartbeat emits, over the dimensions handler.py adds
    assert any(
        'MetricName="PendingApprovals"' in terms and schema == "Keel,automation,environment,service"
        for schema, terms in keel_searches
    )


def test_the_platform_dashboard_is_the_same_for_one_automation_as_for_the_whole_catalog(synthesized, heartbeat_only) -> None:
    # Given dev with the heartbeat alone, and dev with every automation
    # Then the platform dashboard is the same resource, byte for byte: its size does not grow with the catalog
    assert dash.platform_dashboard_resource(heartbeat_only, "dev") == dash.platform_dashboard_resource(
        synthesized.template("dev"), "dev"
    )
    dash.check_platform_dashboard(heartbeat_only, ENVIRONMENTS.get("dev"))


@pytest.mark.parametrize("env", ENV_NAMES)
def test_each_team_has_a_dashboard_of_its_own_automations_in_its_own_stack(synthesized, env) -> None:
    # Given the owning teams of the catalog
    owners = sorted({automation.manifest.owner for automation in CATALOG.automations})
    environment = ENVIRONMENTS.get(env)

    for owner in owners:
        # When its team stack's dashboard is read
        stack = synthesized.stacks[env][f"keel-{env}-team-{owner}"]
        (resource,) = checks.resources(stack, "AWS::CloudWatch::Dashboard").values()
        assert resource["Properties"]["DashboardName"] == f"keel-{env}-team-{owner}"
        body = json.loads(checks.text(resource["Properties"]["DashboardBody"]))
        rendered = json.dumps(body)
        # Then each of the team's automations has its executions (by state machine ARN) and its DLQ, others none
        for automation in CATALOG.automations:
            arn = f"arn:aws:states:{environment.region}:{environment.account}:stateMachine:keel-{env}-{automation.name}"
            mine = automation.manifest.owner == owner
            assert (arn in rendered) is mine, (owner, automation.name)
            assert (f'"keel-{env}-{automation.name}-dlq"' in rendered) is mine, (owner, automation.name)
        # And the stack has nothing else: it runs nothing and references no other stack
        assert set(stack["Resources"]) == {next(iter(checks.resources(stack, "AWS::CloudWatch::Dashboard")))}


# --- The checks fail when the dashboard misses something ----------------------------------------


def copy_of(template: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(template))
    return copied


def resource_named(template: dict[str, Any], kind: str, marker: str) -> dict[str, Any]:
    return next(r for r in checks.resources(template, kind).values() if marker in json.dumps(r))


def platform_dashboard_props(template: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = dash.platform_dashboard_resource(template, "dev")["Properties"]
    return props


def rename(kind: str, marker: str, name_property: str, new_name: str) -> Callable[[dict[str, Any]], None]:
    """A resource named outside Keel's scheme, which the searches would not find."""

    def change(template: dict[str, Any]) -> None:
        resource_named(template, kind, marker)["Properties"][name_property] = new_name

    return change


def edit_body(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    """Replace text in the platform dashboard's body (its literal parts)."""

    def change(template: dict[str, Any]) -> None:
        body = platform_dashboard_props(template)["DashboardBody"]
        parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
        assert any(isinstance(part, str) and old in part for part in parts), f"'{old}' not in the body"
        replaced = [part.replace(old, new) if isinstance(part, str) else part for part in parts]
        platform_dashboard_props(template)["DashboardBody"] = {"Fn::Join": ["", replaced]}

    return change


def rename_dashboard(template: dict[str, Any]) -> None:
    platform_dashboard_props(template)["DashboardName"] = "other"


VIOLATIONS = {
    "dlq-not-found": (
        rename("AWS::SQS::Queue", "keel-dev-platform_heartbeat-dlq", "QueueName", "heartbeat-dead-letters"),
        dash.check_resources_are_found,
    ),
    "state-machine-not-found": (
        rename("AWS::StepFunctions::StateMachine", "platform_heartbeat", "StateMachineName", "heartbeat"),
        dash.check_resources_are_found,
    ),
    "function-not-found": (
        rename("AWS::Lambda::Function", "keel-dev-platform_heartbeat-emit_heartbeat", "FunctionName", "heartbeat-fn"),
        dash.check_resources_are_found,
    ),
    "search-of-another-environment": (edit_body("keel dev", "keel prod"), dash.check_searches),
    "keel-metric-of-another-environment": (edit_body('environment=\\"dev\\"', 'environment=\\"prod\\"'), dash.check_searches),
    "no-p90": (edit_body("'p90'", "'p99'"), dash.check_searches),
    "success-rate-of-failures": (
        edit_body(
            '100 * FILL(SUM(SEARCH(\'{AWS/States,StateMachineArn} MetricName=\\"ExecutionsSucceeded\\"',
            '100 * FILL(SUM(SEARCH(\'{AWS/States,StateMachineArn} MetricName=\\"ExecutionsFailed\\"',
        ),
        dash.check_success_rate,
    ),
    "no-pending-command": (edit_body("keel ops pending", "keel ops list"), dash.check_header),
    "pending-approvals-summed": (edit_body("MAX(SEARCH('{Keel", "SUM(SEARCH('{Keel"), dash.check_gauges),
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
    with pytest.raises((AssertionError, json.JSONDecodeError, StopIteration)):
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
    """dev with the heartbeat automation alone."""
    repo = make_temp_repo(tmp_path_factory.mktemp("heartbeat_only") / "repo")
    for path in (repo.root / "automations").glob("*.yaml"):
        if path.stem != "platform_heartbeat":
            path.unlink()
    templates: dict[str, dict[str, Any]] = repo.synthesize(["dev"])
    return templates["dev"]
