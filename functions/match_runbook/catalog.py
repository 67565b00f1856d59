"""The runbook catalog (runbooks.json beside this module): its schema, and matching a signal to a runbook.

A signal is what triggered the workflow, reduced to what runbooks match on: an alarm (name,
namespace, metric, dimensions, tags) or a GuardDuty finding (type, severity, resource). The first
runbook whose every criterion holds wins; a runbook's target values say where each part of the
resource comes from: `dimension:<Name>`, `tag:<key>`, `finding:<dotted.path>` or a literal.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from functions.shared.remediation.plan import (
    ACTION_TARGET,
    TARGET_FORMATS,
    VERIFY_TARGET,
    ActionName,
    Risk,
    Verification,
    parameter_problems,
    target_problems,
)
from functions.shared.runtime.contract import ConfigDict, Field, Model, ValidationError, model_validator
from functions.shared.runtime.errors import ConfigurationError, InvalidInputError

CATALOG = Path(__file__).with_name("runbooks.json")


class Strict(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(Strict):
    source: Literal["alarm", "finding"]
    alarm_name: str | None = None
    namespace: str | None = None
    metric: str | None = None
    # Tag values are glob patterns: "*" only asks for the tag to be present.
    tags: dict[str, str] = Field(default_factory=dict)
    finding_type: str | None = None
    min_severity: float | None = None
    resource_type: str | None = None

    @model_validator(mode="after")
    def _fits_source(self) -> Match:
        alarm_fields = (self.alarm_name, self.namespace, self.metric, self.tags or None)
        finding_fields = (self.finding_type, self.min_severity, self.resource_type)
        mismatched = finding_fields if self.source == "alarm" else alarm_fields
        if any(value is not None for value in mismatched):
            raise ValueError(f"a {self.source} runbook matches only on {self.source} criteria")
        if not any(value is not None for value in (alarm_fields if self.source == "alarm" else finding_fields)):
            raise ValueError("a runbook must match on at least one criterion")
        return self


class Runbook(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{2,62}$")
    description: str = Field(min_length=1)
    match: Match
    action: ActionName
    target: dict[str, str]
    parameters: dict[str, Any] = Field(default_factory=dict)
    # "from_severity": the finding's severity sets the risk (GuardDuty's low/medium/high bands).
    risk: Risk | Literal["from_severity"]
    approval: Literal["policy", "always"] = "policy"
    cooldown_minutes: int = Field(ge=0, le=7 * 24 * 60)
    verify: Verification

    @model_validator(mode="after")
    def _complete(self) -> Runbook:
        problem = self._target_problem()
        if problem is not None:
            raise ValueError(problem)
        problems = parameter_problems(self.action, self.parameters)
        if problems:
            raise ValueError(f"parameters of {self.action}: {'; '.join(problems)}")
        if self.risk == "from_severity" and self.match.source != "finding":
            raise ValueError("risk from_severity is for finding runbooks")
        if self.verify.kind == "alarm_ok" and self.match.source != "alarm":
            raise ValueError("verify alarm_ok is for alarm runbooks")
        return self

    def _target_problem(self) -> str | None:
        """The plan made from this runbook must be one a task accepts: every target it reads, no other,
        and each literal value in the form AWS gives it (referenced values are checked when read)."""
        missing = ACTION_TARGET[self.action] - set(self.target)
        if missing:
            return f"{self.action} needs target {', '.join(sorted(missing))}"
        unread = VERIFY_TARGET[self.verify.kind] - set(self.target)
        if unread:
            return f"verify {self.verify.kind} reads target {', '.join(sorted(unread))}, which the runbook does not set"
        unknown = sorted(set(self.target) - set(TARGET_FORMATS))
        if unknown:
            return f"target {', '.join(unknown)}: not a target any action reads ({', '.join(sorted(TARGET_FORMATS))})"
        literal = {name: value for name, value in self.target.items() if _reference(value) is None}
        problems = target_problems(None, literal)
        return f"target {problems[0]}" if problems else None


class RunbookCatalog(Strict):
    comment: str = ""
    version: str = Field(min_length=1)
    runbooks: list[Runbook] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> RunbookCatalog:
        ids = [runbook.id for runbook in self.runbooks]
        duplicates = sorted({runbook for runbook in ids if ids.count(runbook) > 1})
        if duplicates:
            raise ValueError(f"runbook ids listed more than once: {', '.join(duplicates)}")
        return self


def parse_catalog(text: str, where: str = "runbooks.json") -> RunbookCatalog:
    try:
        return RunbookCatalog.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{where}: not valid JSON: {error.msg} at line {error.lineno}") from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors())
        raise ConfigurationError(f"{where}: {problems}") from None


@cache
def load_catalog(path: Path = CATALOG) -> RunbookCatalog:
    return parse_catalog(path.read_text(), path.name)


@dataclass(frozen=True)
class Signal:
    """What triggered the workflow, as runbooks see it."""

    source: Literal["alarm", "finding"]
    name: str
    region: str
    account: str
    summary: str
    namespace: str | None = None
    metric: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    severity: float | None = None
    resource_type: str | None = None
    finding: dict[str, Any] = field(default_factory=dict)


def matches(match: Match, signal: Signal) -> bool:
    if match.source != signal.source:
        return False
    checks = [
        match.alarm_name is None or fnmatch.fnmatchcase(signal.name, match.alarm_name),
        match.namespace is None or match.namespace == signal.namespace,
        match.metric is None or match.metric == signal.metric,
        all(key in signal.tags and fnmatch.fnmatchcase(signal.tags[key], value) for key, value in match.tags.items()),
        match.finding_type is None or fnmatch.fnmatchcase(signal.name, match.finding_type),
        match.min_severity is None or (signal.severity is not None and signal.severity >= match.min_severity),
        match.resource_type is None or match.resource_type == signal.resource_type,
    ]
    return all(checks)


def find_runbook(catalog: RunbookCatalog, signal: Signal) -> Runbook | None:
    return next((runbook for runbook in catalog.runbooks if matches(runbook.match, signal)), None)


def resolve_target(runbook: Runbook, signal: Signal) -> dict[str, str]:
    """The runbook's target with every reference read from the signal."""
    return {name: _resolve(reference, signal, runbook.id, name) for name, reference in runbook.target.items()}


# Where each kind of reference is read in match_runbook's input: an error names it.
REFERENCE_FIELDS = {
    "dimension": "event.detail.configuration.metrics",
    "tag": "event.resources",
    "finding": "event.detail",
}


def _reference(value: str) -> tuple[str, str] | None:
    """(kind, key) when a target value refers to the signal, None for a literal."""
    kind, _, key = value.partition(":")
    return (kind, key) if kind in REFERENCE_FIELDS and key else None


def _resolve(reference: str, signal: Signal, runbook: str, name: str) -> str:
    referred = _reference(reference)
    if referred is None:
        return reference
    kind, key = referred
    sources: dict[str, Any] = {
        "dimension": lambda: signal.dimensions.get(key),
        "tag": lambda: signal.tags.get(key),
        "finding": lambda: _path(signal.finding, key),
    }
    value = sources[kind]()
    field = f"event.detail.{key}" if kind == "finding" else REFERENCE_FIELDS[kind]
    if not isinstance(value, str) or not value:
        raise InvalidInputError(
            f"{field}: runbook {runbook}: target {name} needs {reference}, which {signal.summary} does not carry"
        )
    problems = target_problems(None, {name: value})
    if problems:
        raise InvalidInputError(f"{field}: runbook {runbook} reads target {name} from {reference}: {problems[0]}")
    return value


def _path(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def severity_risk(severity: float) -> Risk:
    """GuardDuty's bands: low below 4, medium below 7, high below 9, critical from 9."""
    if severity >= 9:
        return "critical"
    if severity >= 7:
        return "high"
    return "medium" if severity >= 4 else "low"


def resource_arn(action: str, target: dict[str, str], region: str, account: str) -> str:
    if action.startswith("ecs_"):
        return f"arn:aws:ecs:{region}:{account}:service/{target['cluster']}/{target['service']}"
    if action.startswith("ec2_"):
        return f"arn:aws:ec2:{region}:{account}:instance/{target['instance_id']}"
    if action == "sqs_redrive":
        return f"arn:aws:sqs:{region}:{account}:{target['queue']}"
    return f"arn:aws:iam::{account}:user/{target['user_name']}"
