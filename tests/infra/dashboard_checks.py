"""The platform dashboard of a synthesized environment, rendered and checked against the environment itself.

The dashboard names no resource: its graphs are CloudWatch SEARCH expressions over the tokens of
Keel's names. So the check is that every question has its search, scoped to the environment, and that
those searches find every resource the environment has: each state machine, function and dead-letter
queue of the template must carry the tokens the searches ask for (CloudWatch splits a dimension value
into tokens at every character that is not a letter or digit). A resource named otherwise, or a search
left off or scoped elsewhere, fails the check.
"""

from __future__ import annotations

import json
import re
from typing import Any

import template_checks as checks

Template = dict[str, Any]
Widget = dict[str, Any]

# (namespace, metric, statistic) the page must search the environment for.
REQUIRED_SEARCHES = (
    ("AWS/States", "ExecutionsStarted", "Sum"),
    ("AWS/States", "ExecutionsFailed", "Sum"),
    ("AWS/States", "ExecutionsTimedOut", "Sum"),
    ("AWS/States", "ExecutionsAborted", "Sum"),
    ("AWS/States", "ExecutionTime", "p50"),
    ("AWS/States", "ExecutionTime", "p90"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum"),
    ("AWS/Lambda", "Errors", "Sum"),
    ("AWS/Lambda", "Throttles", "Sum"),
    ("Keel", "PendingApprovals", "Maximum"),
    ("Keel", "TaskSucceeded", "Sum"),
    ("Keel", "TaskFailed", "Sum"),
)
SUCCESS_RATE_PARTS = ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")
# A period is optional: without one a widget's own applies (a single value over the whole range).
SEARCH = re.compile(r"SEARCH\('\{([^}]*)\}\s*([^']*)',\s*'([^']+)'(?:,\s*(\d+))?\)")


def platform_dashboard_resource(template: Template, env: str) -> dict[str, Any]:
    logical_id = checks.find_by(template, "AWS::CloudWatch::Dashboard", "DashboardName", f"keel-{env}-platform")
    resource: dict[str, Any] = template["Resources"][logical_id]
    return resource


def platform_dashboard(template: Template, env: str) -> dict[str, Any]:
    """The body of keel-<env>-platform, parsed (a body that is not JSON fails here)."""
    body: dict[str, Any] = json.loads(checks.text(platform_dashboard_resource(template, env)["Properties"]["DashboardBody"]))
    return body


def expressions(body: dict[str, Any]) -> list[str]:
    return [
        row[0]["expression"]
        for widget in body["widgets"]
        for row in widget.get("properties", {}).get("metrics", [])
        if isinstance(row[0], dict) and "expression" in row[0]
    ]


def searches(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(schema, terms, statistic) of every SEARCH on the page."""
    return [
        (schema, terms.strip(), statistic)
        for expression in expressions(body)
        for schema, terms, statistic, _period in SEARCH.findall(expression)
    ]


def tokens(name: str) -> set[str]:
    """How CloudWatch's search splits a dimension value: at every character not a letter or digit."""
    return {token.lower() for token in re.split(r"[^A-Za-z0-9]+", name) if token}


def scope_of(terms: str) -> tuple[set[str], str | None]:
    """The bare tokens a search term requires, and the environment it names by dimension, if any."""
    environment = re.search(r'environment="([^"]+)"', terms)
    bare = re.sub(r'\w+="[^"]*"', " ", terms)
    return {token.lower() for token in bare.split()}, environment.group(1) if environment else None


def searches_for(body: dict[str, Any], namespace: str, metric: str, statistic: str) -> list[set[str]]:
    """The bare tokens of each search for this metric (a Keel metric's search must name the environment)."""
    found = []
    for schema, terms, stat in searches(body):
        if schema.split(",")[0] == namespace and f'MetricName="{metric}"' in terms and stat == statistic:
            bare, _environment = scope_of(terms)
            found.append(bare)
    return found


def check_platform_dashboard(template: Template, environment: Any) -> None:
    """The whole contract; each part is a function of its own so a failure names what is missing."""
    body = platform_dashboard(template, environment.name)
    for check in (check_searches, check_success_rate, check_gauges, check_resources_are_found, check_header):
        check(template, body, environment)


def check_gauges(_template: Template, body: dict[str, Any], _environment: Any) -> None:
    """PendingApprovals is one count of the whole environment that each heartbeat reports: the page
    shows the largest report, never their sum; and the single value over the range has no fixed period."""
    pending = [expression for expression in expressions(body) if 'MetricName="PendingApprovals"' in expression]
    assert pending, "no pending approvals"
    assert all(expression.startswith("MAX(SEARCH(") for expression in pending), pending
    over_range = [
        row[0]["expression"]
        for widget in body["widgets"]
        if widget["properties"].get("setPeriodToTimeRange")
        for row in widget["properties"]["metrics"]
    ]
    assert over_range, "no value over the range"
    assert all(period == "" for expression in over_range for *_, period in SEARCH.findall(expression)), over_range


def check_searches(_template: Template, body: dict[str, Any], environment: Any) -> None:
    """Every question has a search, and every search stays inside the environment."""
    for namespace, metric, statistic in REQUIRED_SEARCHES:
        assert searches_for(body, namespace, metric, statistic), f"no search of {namespace} {metric} ({statistic})"
    for schema, terms, _statistic in searches(body):
        bare, named = scope_of(terms)
        if schema.startswith("Keel"):
            assert named == environment.name, f"search of {schema} not scoped to {environment.name}: {terms}"
        else:
            assert {"keel", environment.name} <= bare, f"search of {schema} not scoped to {environment.name}: {terms}"


def check_success_rate(_template: Template, body: dict[str, Any], _environment: Any) -> None:
    """One expression: 100 x the sum of succeeded over the sum of all four ends, every state machine."""
    for expression in expressions(body):
        parts = [metric for metric in SUCCESS_RATE_PARTS if f'MetricName="{metric}"' in expression]
        if parts == list(SUCCESS_RATE_PARTS):
            numerator = expression.split("100 * ", 1)[1].split(" / ", 1)[0]
            assert 'MetricName="ExecutionsSucceeded"' in numerator, expression
            assert "Failed" not in numerator, expression
            return
    raise AssertionError("no success rate over succeeded, failed, timed out and aborted")


def dead_letter_queue_ids(template: Template) -> set[str]:
    """Queues another resource dead-letters into: rule targets, queues' redrive, SNS subscriptions' redrive."""
    found: set[str] = set()
    for rule in checks.resources(template, "AWS::Events::Rule").values():
        for target in rule["Properties"].get("Targets", []):
            found |= checks.referenced_ids(target.get("DeadLetterConfig", {}))
    for kind in ("AWS::SQS::Queue", "AWS::SNS::Subscription"):
        for resource in checks.resources(template, kind).values():
            found |= checks.referenced_ids(resource["Properties"].get("RedrivePolicy", {}))
    return found


def found_by(body: dict[str, Any], namespace: str, metric: str, statistic: str, name: str) -> bool:
    return any(required <= tokens(name) for required in searches_for(body, namespace, metric, statistic))


def check_resources_are_found(template: Template, body: dict[str, Any], _environment: Any) -> None:
    """Every state machine, function and dead-letter queue of the environment is found by the searches."""
    machines = [
        r["Properties"]["StateMachineName"] for r in checks.resources(template, "AWS::StepFunctions::StateMachine").values()
    ]
    functions = [r["Properties"]["FunctionName"] for r in checks.resources(template, "AWS::Lambda::Function").values()]
    queues = [checks.properties(template, logical_id)["QueueName"] for logical_id in dead_letter_queue_ids(template)]
    assert machines
    assert functions
    assert queues
    for name in machines:
        for metric, statistic in (("ExecutionsStarted", "Sum"), ("ExecutionsFailed", "Sum"), ("ExecutionTime", "p90")):
            assert found_by(body, "AWS/States", metric, statistic, name), f"{name} is not on the {metric} graph"
    for name in functions:
        for metric in ("Errors", "Throttles"):
            assert found_by(body, "AWS/Lambda", metric, "Sum", name), f"{name} is not on the {metric} graph"
    for name in queues:
        assert found_by(body, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", name), f"{name} is not shown"


def check_header(_template: Template, body: dict[str, Any], environment: Any) -> None:
    text = " ".join(widget["properties"].get("markdown", "") for widget in body["widgets"] if widget["type"] == "text")
    assert f"keel ops pending --env {environment.name} --region {environment.region}" in text
