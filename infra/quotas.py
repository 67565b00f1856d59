"""The quota guard: synth fails, naming the stack and the figure, when a stack passes 80% of a quota.

The CDK checks none of these but the resource count (and that only at 100%, as an error that names
no remedy); CloudFormation refuses the rest at deploy time, when a team has already merged. 80% leaves
room for the next change. The figures are measured on the synthesized templates, as CloudFormation
receives them, and `keel catalog` shows them per stack.

Limits, read 2026-12 from AWS's pages:
- CloudFormation: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
  ("Resources" 500, "Template body size in an Amazon S3 object" 1 MB (the CDK CLI uploads every
  template over 50 KB through S3), "Outputs" 200, "Parameters" 200, "Mappings" 200,
  "Dynamic references per template" 60); none is adjustable.
- CloudWatch dashboards: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Dashboard-Body-Structure.html
  (a body has "between 0 and 500 widget objects"; "One metrics array can include 0-500 metrics and
  expressions"). PutDashboard documents no limit on the body's size
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html): a body
  is bounded by the template that carries it, so its bytes are reported, not guarded on their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

GUARD = 0.8
CLOUDFORMATION = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"
DASHBOARDS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Dashboard-Body-Structure.html"
# DeploymentPreference Alarms: "Maximum: 100" names.
ROLLOUTS = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
    "aws-properties-stepfunctions-statemachinealias-deploymentpreference.html"
)
DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:")
# A token inside a dashboard body (an ARN, a region) stands for about this many characters once deployed.
TOKEN_LENGTH = 80


@dataclass(frozen=True)
class Quota:
    figure: str  # a StackFigures field
    limit: int
    what: str  # how the quota reads, for the error
    source: str


QUOTAS = (
    Quota("resources", 500, "CloudFormation's 500 resources per stack", CLOUDFORMATION),
    Quota("template_bytes", 1_000_000, "CloudFormation's 1 MB per template (uploaded through S3)", CLOUDFORMATION),
    Quota("outputs", 200, "CloudFormation's 200 outputs per template", CLOUDFORMATION),
    Quota("parameters", 200, "CloudFormation's 200 parameters per template", CLOUDFORMATION),
    Quota("mappings", 200, "CloudFormation's 200 mappings per template", CLOUDFORMATION),
    Quota("dynamic_references", 60, "CloudFormation's 60 dynamic references per template", CLOUDFORMATION),
    Quota("dashboard_widgets", 500, "CloudWatch's 500 widgets per dashboard", DASHBOARDS),
    Quota("widget_metrics", 500, "CloudWatch's 500 metrics and expressions per widget", DASHBOARDS),
    Quota("rollout_alarms", 100, "Step Functions' 100 alarms per alias deployment preference", ROLLOUTS),
)


class QuotaExceeded(Exception):
    """A synthesized stack passed the guard's line on a quota; the message is one line."""


@dataclass(frozen=True)
class StackFigures:
    """What counts against the quotas in one synthesized stack."""

    stack: str
    resources: int
    template_bytes: int
    outputs: int
    parameters: int
    mappings: int
    dynamic_references: int
    dashboard_bytes: int  # the largest dashboard body in the stack
    dashboard_widgets: int  # the most widgets on one of its dashboards
    widget_metrics: int  # the most metrics on one widget
    rollout_alarms: int = 0  # the most alarms one alias's deployment preference watches

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def problems(self) -> list[str]:
        """One line per quota this stack passes the guard's line on."""
        lines = []
        for quota in QUOTAS:
            value = int(getattr(self, quota.figure))
            if value > GUARD * quota.limit:
                lines.append(
                    f"stack {self.stack}: {quota.figure.replace('_', ' ')} {value:,} is {value / quota.limit:.0%} of "
                    f"{quota.what}; the guard stops synth above {GUARD:.0%} ({quota.source})"
                )
        return lines

    def headroom(self) -> float:
        """The largest share of any quota this stack uses (1.0 = at the limit)."""
        return max(int(getattr(self, quota.figure)) / quota.limit for quota in QUOTAS)


def figures_of(stack: str, template_path: Path) -> StackFigures:
    text = template_path.read_text()
    template: dict[str, Any] = json.loads(text)
    bodies = [_dashboard_body(resource) for resource in template.get("Resources", {}).values()]
    dashboards = [body for body in bodies if body is not None]
    return StackFigures(
        stack=stack,
        resources=len(template.get("Resources", {})),
        template_bytes=len(text.encode()),
        outputs=len(template.get("Outputs", {})),
        parameters=len(template.get("Parameters", {})),
        mappings=len(template.get("Mappings", {})),
        dynamic_references=len(DYNAMIC_REFERENCE.findall(text)),
        dashboard_bytes=max((len(body.encode()) for body in dashboards), default=0),
        dashboard_widgets=max((len(_widgets(body)) for body in dashboards), default=0),
        widget_metrics=max((_metric_count(widget) for body in dashboards for widget in _widgets(body)), default=0),
        rollout_alarms=max(
            (
                len(resource["Properties"].get("DeploymentPreference", {}).get("Alarms", []))
                for resource in template.get("Resources", {}).values()
                if resource.get("Type") == "AWS::StepFunctions::StateMachineAlias"
            ),
            default=0,
        ),
    )


def check(figures: list[StackFigures]) -> None:
    """Raise QuotaExceeded with the first stack's first problem, worst stack first."""
    for stack in sorted(figures, key=StackFigures.headroom, reverse=True):
        problems = stack.problems()
        if problems:
            more = sum(len(other.problems()) for other in figures) - 1
            raise QuotaExceeded(problems[0] + (f" (and {more} more)" if more else ""))


def _dashboard_body(resource: dict[str, Any]) -> str | None:
    """A dashboard's body as deployed, each token standing in for a value of typical length."""
    if resource.get("Type") != "AWS::CloudWatch::Dashboard":
        return None
    return "".join(_parts(resource["Properties"]["DashboardBody"]))


def _parts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, items = value["Fn::Join"]
        for index, item in enumerate(items):
            if index:
                yield separator
            yield from _parts(item)
    else:
        yield "x" * TOKEN_LENGTH


def _widgets(body: str) -> list[dict[str, Any]]:
    widgets: list[dict[str, Any]] = json.loads(body).get("widgets", [])
    return widgets


def _metric_count(widget: dict[str, Any]) -> int:
    return len(widget.get("properties", {}).get("metrics", []))
