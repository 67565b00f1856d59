"""The platform dashboard of a synthesized template, rendered and checked against the template itself.

What the dashboard must show is found in the template independently of the construct that built it:
every state machine, every queue some other resource dead-letters into, every function, the log
groups of the state machines that wait for a task token. A resource added anywhere in the stack and
left off the dashboard fails the check.
"""

from __future__ import annotations

import json
import re
from typing import Any

import template_checks as checks

Template = dict[str, Any]
Widget = dict[str, Any]

OPEN_WAIT = ("TaskScheduled", "TaskStarted", "TaskSubmitted")
EXECUTION_METRICS = ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed")
SUCCESS_RATE_PARTS = ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")


def render(value: Any) -> str:
    """A DashboardBody as text: Fn::Join resolved, Ref and Fn::GetAtt as <Ref:Id> / <GetAtt:Id.Attr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<Ref:{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<GetAtt:{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"unexpected intrinsic in a dashboard body: {value}")


def platform_dashboard(template: Template, env: str) -> dict[str, Any]:
    """The body of keel-<env>-platform, parsed (a body that is not JSON fails here)."""
    logical_id = checks.find_by(template, "AWS::CloudWatch::Dashboard", "DashboardName", f"keel-{env}-platform")
    body: dict[str, Any] = json.loads(render(checks.properties(template, logical_id)["DashboardBody"]))
    return body


def metric_rows(widget: Widget) -> list[list[Any]]:
    """The widget's metric rows ([namespace, name, dim, value, ..., {options}]), expressions excluded."""
    return [row for row in widget["properties"].get("metrics", []) if isinstance(row[0], str)]


def expressions(widget: Widget) -> list[dict[str, Any]]:
    return [row[0] for row in widget["properties"].get("metrics", []) if isinstance(row[0], dict) and "expression" in row[0]]


def dimension(row: list[Any], name: str) -> str | None:
    values = [item for item in row[2:] if not isinstance(item, dict)]
    pairs = dict(zip(values[::2], values[1::2], strict=True))
    return pairs.get(name)


def options(row: list[Any]) -> dict[str, Any]:
    return row[-1] if isinstance(row[-1], dict) else {}


def widgets_with(body: dict[str, Any], namespace: str, metric: str, stat: str | None = None) -> list[Widget]:
    return [
        widget
        for widget in body["widgets"]
        if any(row[:2] == [namespace, metric] and stat in (None, options(row).get("stat")) for row in metric_rows(widget))
    ]


def shown(widget: Widget, namespace: str, metric: str, dimension_name: str) -> set[str]:
    """The dimension values (rendered Ref/GetAtt) of one metric across a widget's visible rows."""
    return {
        str(dimension(row, dimension_name))
        for row in metric_rows(widget)
        if row[:2] == [namespace, metric] and options(row).get("visible", True)
    }


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


def task_token_log_group_ids(template: Template) -> set[str]:
    """Log groups of the state machines whose definition waits for a task token."""
    found: set[str] = set()
    for resource in checks.resources(template, "AWS::StepFunctions::StateMachine").values():
        props = resource["Properties"]
        if ".waitForTaskToken" in json.dumps(props.get("DefinitionString", "")):
            found |= checks.referenced_ids(props["LoggingConfiguration"]["Destinations"])
    return found


def check_platform_dashboard(template: Template, environment: Any) -> None:
    """The whole contract; each part is a function of its own so a failure names what is missing."""
    body = platform_dashboard(template, environment.name)
    parts = (
        check_executions,
        check_success_rate,
        check_durations,
        check_dead_letter_queues,
        check_functions,
        check_pending_approvals,
    )
    for check in parts:
        check(template, body, environment)


def state_machine_refs(template: Template) -> set[str]:
    machines = checks.resources(template, "AWS::StepFunctions::StateMachine")
    assert machines, "no state machine in the template"
    return {f"<Ref:{logical_id}>" for logical_id in machines}


def check_executions(template: Template, body: dict[str, Any], _environment: Any = None) -> None:
    expected = state_machine_refs(template)
    for metric in EXECUTION_METRICS:
        graphs = widgets_with(body, "AWS/States", metric)
        assert any(shown(graph, "AWS/States", metric, "StateMachineArn") == expected for graph in graphs), (
            f"no graph of {metric} with exactly the state machines {sorted(expected)}"
        )


def check_success_rate(template: Template, body: dict[str, Any], _environment: Any = None) -> None:
    """Per state machine, an expression 100 x succeeded / (succeeded + failed + timed out + aborted)."""
    expected = state_machine_refs(template)
    rated: set[str] = set()
    for widget in body["widgets"]:
        ids = {
            options(row)["id"]: (row[1], dimension(row, "StateMachineArn"))
            for row in metric_rows(widget)
            if row[0] == "AWS/States" and "id" in options(row)
        }
        for expression in expressions(widget):
            used = {name: ids[name] for name in re.findall(r"\b([a-z]\w*)\b", expression["expression"]) if name in ids}
            machines = {str(machine) for _metric, machine in used.values()}
            if {metric for metric, _machine in used.values()} != set(SUCCESS_RATE_PARTS) or len(machines) != 1:
                continue
            succeeded = next(name for name, (metric, _machine) in used.items() if metric == "ExecutionsSucceeded")
            assert f"100 * FILL({succeeded}, 0) / (" in expression["expression"], expression
            rated |= machines
    assert rated == expected, f"success rate missing for {sorted(expected - rated)}"


def check_durations(template: Template, body: dict[str, Any], _environment: Any = None) -> None:
    expected = state_machine_refs(template)
    for percentile in ("p50", "p90"):
        graphs = widgets_with(body, "AWS/States", "ExecutionTime", percentile)
        assert any(shown(graph, "AWS/States", "ExecutionTime", "StateMachineArn") == expected for graph in graphs), percentile


def check_dead_letter_queues(template: Template, body: dict[str, Any], _environment: Any = None) -> None:
    expected = {f"<GetAtt:{logical_id}.QueueName>" for logical_id in dead_letter_queue_ids(template)}
    graphs = widgets_with(body, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum")
    assert len(graphs) == 1, "expected one dead-letter queue graph"
    assert shown(graphs[0], "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName") == expected


def check_functions(template: Template, body: dict[str, Any], _environment: Any = None) -> None:
    expected = {f"<Ref:{logical_id}>" for logical_id in checks.resources(template, "AWS::Lambda::Function")}
    for metric in ("Errors", "Throttles"):
        graphs = widgets_with(body, "AWS/Lambda", metric, "Sum")
        assert any(shown(graph, "AWS/Lambda", metric, "FunctionName") == expected for graph in graphs), metric


def check_pending_approvals(template: Template, body: dict[str, Any], environment: Any) -> None:
    """Log queries over exactly the task-token state machines' logs; the range covers the approval timeout."""
    logs = [widget["properties"] for widget in body["widgets"] if widget["type"] == "log"]
    expected = {f"<Ref:{logical_id}>" for logical_id in task_token_log_group_ids(template)}
    assert expected, "no state machine waits for a task token"
    assert any("stats count(*) as pending_approvals" in query["query"] for query in logs)
    for query in logs:
        assert set(re.findall(r"SOURCE '([^']+)'", query["query"])) == expected
        assert "filter details.resource like /\\.waitForTaskToken$/" in query["query"]
        assert "stats latest(type) as last_event" in query["query"]
        assert f"filter last_event in [{', '.join(json.dumps(event) for event in OPEN_WAIT)}]" in query["query"]
    start = re.fullmatch(r"-PT(\d+)H", body["start"])
    assert start, body["start"]
    assert int(start.group(1)) * 60 >= environment.approval.timeout_minutes


def approval_request_metrics(template: Template, body: dict[str, Any], env: str) -> set[str]:
    """Metric names graphed with the namespace and dimensions the deployed request_approval emits with."""
    function = checks.properties(template, checks.function_id(template, env, "request_approval"))
    variables = function["Environment"]["Variables"]
    return {
        row[1]
        for widget in body["widgets"]
        for row in metric_rows(widget)
        if row[0] == variables["POWERTOOLS_METRICS_NAMESPACE"]
        and dimension(row, "service") == variables["POWERTOOLS_SERVICE_NAME"]
        and dimension(row, "environment") == variables["KEEL_ENVIRONMENT"]
    }
