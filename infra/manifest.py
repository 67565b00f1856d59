"""The automation manifest (automations/<name>.yaml): what a team declares, once.

The model checks what a manifest says on its own; infra/catalog.py checks it against the rest of
the repository (function modules, ASL files, on-call routes, secrets).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from infra.errors import NestedFieldError
from infra.event_pattern import check_event_pattern

SEMVER = r"^\d+\.\d+\.\d+$"
AUTOMATION_NAME = r"^[a-z][a-z0-9_]{2,48}$"
SCHEDULE = r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$"

DataClassification = Literal["public", "internal", "confidential", "restricted"]
CONFIDENTIAL_PATH = r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A JSONPath into a state's input naming one value: $.detail.alarmName, $.detail['alarm-name'], $.resources[0].
KEY_PATH = r"^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\['[^'\]]+'\]|\[\d+\])+$"


def _refuse_repeats(values: list[str], what: str) -> None:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise ValueError(f"{what}: {', '.join(duplicates)}")


def key_path(key: str) -> str:
    if not re.fullmatch(KEY_PATH, key):
        raise ValueError(f"'{key}' is not a JSONPath to one value of the event (e.g. $.detail.alarmName)")
    return key


# Step Functions' state names are at most 80 characters.
STATE_NAME = r"^[^\s].{0,79}$"


class Debounce(Strict):
    """A burst of events with the same key runs the workflow once, on the latest to arrive."""

    key: str
    # An event runs once no newer one with its key arrived for this long...
    window_seconds: int = Field(ge=1, le=3600)
    # ...and a key that keeps firing still runs at least once per this long.
    max_wait_seconds: int = Field(ge=1, le=86400)

    @field_validator("key")
    @classmethod
    def _key_is_a_path(cls, key: str) -> str:
        return key_path(key)

    @model_validator(mode="after")
    def _max_wait_covers_the_window(self) -> Debounce:
        if self.max_wait_seconds < self.window_seconds:
            raise NestedFieldError("max_wait_seconds", f"must be at least window_seconds ({self.window_seconds})")
        return self


class ContractRef(Strict):
    """An event contract (functions/shared/contracts/): schemas/<name>.v<major>.schema.json."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")
    major: int = Field(ge=1)

    @property
    def key(self) -> str:
        return f"{self.name}@{self.major}"


class Trigger(Strict):
    # Which bus the pattern listens on: AWS service events arrive on "default", ours on "keel".
    bus: Literal["default", "keel"] = "keel"
    event_pattern: dict[str, Any] | None = None
    # The contract the events it starts on honour: Keel checks each event against it first, and the
    # event_pattern must select exactly the contract's source and detail-type (infra/contract_states.py).
    contract: ContractRef | None = None
    schedule: str | None = Field(default=None, pattern=SCHEDULE)
    # How long EventBridge keeps retrying a failed start before dead-lettering the event.
    max_event_age_seconds: int = Field(default=3600, ge=60, le=86400)
    retry_attempts: int = Field(default=8, ge=0, le=185)
    # A storm of events for one key (a flapping alarm) runs the workflow once (infra/limit_states.py).
    debounce: Debounce | None = None

    @field_validator("event_pattern")
    @classmethod
    def _event_pattern_is_valid(cls, pattern: dict[str, Any] | None) -> dict[str, Any] | None:
        # The rule gets the pattern as written, so everything EventBridge would refuse is refused here.
        if pattern is not None:
            check_event_pattern(pattern)
        return pattern

    @model_validator(mode="after")
    def _has_a_source(self) -> Trigger:
        if self.event_pattern is None and self.schedule is None:
            raise ValueError("needs an event_pattern, a schedule, or both")
        if self.contract is not None and (self.event_pattern is None or self.bus != "keel"):
            raise NestedFieldError("contract", "only an event_pattern on the keel bus consumes a contract's events")
        return self


class FailurePath(Strict):
    """Where a task's error goes once its retries are spent (infra/workflow_defaults.py)."""

    # The author's own failure path (a state of the definition); none: Keel's, which records the
    # failure, tells `notify` and fails the execution with the original error.
    state: str | None = None
    notify: Literal["oncall", "escalation"] = "oncall"

    @model_validator(mode="after")
    def _notify_is_keels(self) -> FailurePath:
        if self.state is not None and "notify" in self.model_fields_set:
            raise ValueError("notify is for Keel's failure path; a failure path of your own (state) does its own telling")
        return self


class Workflow(Strict):
    definition: str = Field(pattern=r"^[a-z0-9_]+\.asl\.json$")
    type: Literal["standard", "express"] = "standard"
    timeout_seconds: int = Field(ge=1, le=365 * 24 * 3600)
    # A shared definition's placeholders, bound to this automation's modules: {act: contain_threat}
    # turns ${act} into ${contain_threat}.
    substitutions: dict[str, str] = Field(default_factory=dict)
    failure: FailurePath = Field(default_factory=FailurePath)

    @field_validator("substitutions")
    @classmethod
    def _placeholder_names(cls, substitutions: dict[str, str]) -> dict[str, str]:
        for name in substitutions:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
                raise ValueError(f"placeholder '{name}' must be lower-case letters, digits and underscores")
        return substitutions

    @model_validator(mode="after")
    def _express_limit(self) -> Workflow:
        if self.type == "express" and self.timeout_seconds > 300:
            raise ValueError("express workflows run at most 300 seconds")
        return self


class Section(Strict):
    """The states a concurrency limit covers: from `from` (where the slot is taken) to `to` (after
    which it is given back). Keel inserts both ends, and gives the slot back on every other way out."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: str = Field(alias="from", pattern=STATE_NAME)
    end: str | None = Field(default=None, alias="to", pattern=STATE_NAME)


class Concurrency(Strict):
    """At most `max` executions in the section at once, per value of `key` when given."""

    max: int = Field(ge=1, le=1000)
    # Evaluated on the input of the section's first state; absent: one limit for the whole automation.
    key: str | None = None
    # Absent: the whole workflow after the event claim (and after debouncing).
    section: Section | None = None
    # How long an execution waits for a slot (retrying with backoff) before it ends as
    # concurrency_limited, recorded and paged.
    max_wait_seconds: int = Field(default=300, ge=0, le=3600)

    @field_validator("key")
    @classmethod
    def _key_is_a_path(cls, key: str | None) -> str | None:
        return None if key is None else key_path(key)


class Limits(Strict):
    # Concurrency: `concurrency: {max, key, section, max_wait_seconds}`; `max_concurrency: N` is the
    # same as `concurrency: {max: N}` (the whole workflow, one limit for the automation).
    concurrency: Concurrency | None = None
    # Blast radius: at most this many actions per window, then stop acting and page on-call.
    max_actions_per_window: int = Field(default=10, ge=1)
    window_minutes: int = Field(default=60, ge=1, le=24 * 60)
    dry_run: bool = False

    @model_validator(mode="before")
    @classmethod
    def _max_concurrency_is_a_shorthand(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "max_concurrency" not in data:
            return data
        if "concurrency" in data:
            raise NestedFieldError("max_concurrency", "is the shorthand of concurrency: give one of them, not both")
        values = dict(data)
        shorthand = values.pop("max_concurrency")
        # Checked here, where the manifest's own name for it is still known.
        if isinstance(shorthand, bool) or not isinstance(shorthand, int) or not 1 <= shorthand <= 1000:
            raise NestedFieldError("max_concurrency", f"must be a whole number from 1 to 1000, not {shorthand!r}")
        values["concurrency"] = {"max": shorthand}
        return values


class Heartbeat(Strict):
    """A dead man's switch: page when the function's metric goes silent."""

    function: str
    metric: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]{0,63}$")
    max_silence_minutes: int = Field(ge=5, le=24 * 60)


AnomalyMetric = Literal["duration", "failure_rate"]
ANOMALY_METRICS: tuple[AnomalyMetric, ...] = ("duration", "failure_rate")


class Anomaly(Strict):
    """CloudWatch anomaly-detection alarms: the automation compared with its own past
    (infra/constructs/monitoring.py; evaluated locally by keel/local/alarm_anomaly.py)."""

    # The band's width in standard deviations: ANOMALY_DETECTION_BAND(m, band_width). Wider pages less.
    band_width: float = Field(default=2.0, ge=0.5, le=10)
    # duration: the executions' average ExecutionTime; failure_rate: failed / started executions, in %.
    metrics: list[AnomalyMetric] = Field(default_factory=lambda: list(ANOMALY_METRICS), min_length=1)
    period_minutes: int = Field(default=60, ge=1, le=1440)
    # Consecutive periods above the band before the owner is paged.
    evaluation_periods: int = Field(default=1, ge=1, le=100)

    @field_validator("metrics")
    @classmethod
    def _unique_metrics(cls, metrics: list[AnomalyMetric]) -> list[AnomalyMetric]:
        _refuse_repeats(list(metrics), "listed more than once")
        return metrics

    @model_validator(mode="after")
    def _window(self) -> Anomaly:
        if self.period_minutes * self.evaluation_periods > 24 * 60:
            raise ValueError("period_minutes x evaluation_periods must not exceed one day (CloudWatch's limit)")
        return self


class Slo(Strict):
    success_rate_percent: float = Field(gt=0, le=100)
    p90_duration_seconds: float = Field(gt=0)
    heartbeat: Heartbeat | None = None
    # Pages the owner when duration or failure rate leaves the band its own history predicts.
    anomaly: Anomaly | None = None


QUEUE_NAME = r"^[a-z][a-z0-9-]{1,30}$"
METRIC_NAME = r"^[A-Za-z][A-Za-z0-9]{0,63}$"


class Queues(Strict):
    """Queues the automation owns (e.g. one per team it hands work to): keel-<env>-<automation>-<name>,
    KMS-encrypted, SSL-only, each with its own dead-letter queue. Only `senders` may send to them."""

    names: list[str] = Field(min_length=1)
    # Functions of this automation that get the queue URLs (KEEL_QUEUES) and sqs:SendMessage on them.
    senders: list[str] = Field(min_length=1)
    # Receives by consumers before a message moves to the queue's dead-letter queue.
    max_receive_count: int = Field(default=5, ge=1, le=100)
    visibility_timeout_seconds: int = Field(default=300, ge=0, le=43200)
    retention_days: int = Field(default=14, ge=1, le=14)

    @field_validator("names")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not re.fullmatch(QUEUE_NAME, name):
                raise ValueError(f"queue name '{name}' must be lower-case letters, digits and dashes (2-31 characters)")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        return names


class MetricAlarm(Strict):
    """An alarm on a metric one of the automation's functions emits (Powertools Metrics, namespace Keel),
    paging the owner's on-call route."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,40}$")
    description: str = Field(min_length=1, max_length=512)
    function: str
    metric: str = Field(pattern=METRIC_NAME)
    # Average, Sum, Minimum, Maximum, SampleCount, or a percentile such as p50 / p90.
    statistic: str = Field(pattern=r"^(Average|Sum|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d{1,2})?)$")
    threshold: float
    comparison: Literal["less_than", "less_than_or_equal", "greater_than", "greater_than_or_equal"]
    period_minutes: int = Field(ge=1, le=1440)
    evaluation_periods: int = Field(default=1, ge=1, le=100)
    # What a period without data means: usually nothing happened, which is not a breach.
    missing_data: Literal["missing", "not_breaching", "breaching", "ignore"] = "not_breaching"

    @model_validator(mode="after")
    def _window(self) -> MetricAlarm:
        if self.period_minutes * self.evaluation_periods > 24 * 60:
            raise ValueError("period_minutes x evaluation_periods must not exceed one day (CloudWatch's limit)")
        return self


# --- Safe change: rollout of a new version and shadow runs (infra/constructs/versions.py) ---------


class Rollout(Strict):
    """How the live alias moves to a newly published version: all at once, or a canary share first, or
    a linear share more every interval; the automation's alarms firing meanwhile roll it back."""

    strategy: Literal["canary", "linear", "all_at_once"]
    # Share of events the new version takes first (canary) or takes more each interval (linear).
    percent: int = Field(default=10, ge=1, le=99)
    # Minutes between two shifts of traffic (CloudFormation's DeploymentPreference Interval, 1-2100).
    interval_minutes: int = Field(default=30, ge=1, le=2100)

    @model_validator(mode="after")
    def _shares_for_shifting_strategies(self) -> Rollout:
        if self.strategy == "all_at_once" and self.model_fields_set & {"percent", "interval_minutes"}:
            raise ValueError("percent and interval_minutes are for canary and linear rollouts; all_at_once moves at once")
        return self


# An environment that says nothing: a team shipping to prod gets a canary, every other environment all at once.
DEFAULT_ROLLOUTS = {"prod": Rollout(strategy="canary", percent=10, interval_minutes=30)}
ALL_AT_ONCE = Rollout(strategy="all_at_once")


class Shadow(Strict):
    """This deploy's version is a candidate: it runs on every matching event in forced dry run (it
    decides, never acts), while the live alias stays on the version it routes to."""

    version: str = Field(pattern=SEMVER)


class EnvironmentOverride(Strict):
    limits: Limits | None = None
    approval_required: bool | None = None
    enabled: bool | None = None
    rollout: Rollout | None = None


class Manifest(Strict):
    name: str = Field(pattern=AUTOMATION_NAME)
    description: str = Field(min_length=1, max_length=512)
    version: str = Field(pattern=SEMVER)
    owner: str = Field(min_length=1)
    oncall: str = Field(min_length=1)
    escalation: str = Field(min_length=1)
    approvers: list[str] = Field(min_length=1)
    data_classification: DataClassification
    # Confidential and restricted automations: the fields of the event's detail that hold customer text
    # (dotted paths; [] when the events carry none). Keel keeps them in the confidential store and the
    # workflow carries references (infra/confidential_states.py).
    confidential_text: list[str] | None = None
    trigger: Trigger
    workflow: Workflow
    functions: list[str] = Field(default_factory=list)
    secrets: list[str] = Field(default_factory=list)
    # External HTTPS APIs the workflow calls (names of the environment's `apis`, which must allow this
    # automation): its functions with `external_apis` access get them, and read their credentials.
    apis: list[str] = Field(default_factory=list)
    # The contracts of the events the workflow puts on the bus: each events:putEvents entry is checked
    # against its contract before it is put (infra/contract_states.py).
    emits: list[ContractRef] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    slo: Slo
    queues: Queues | None = None
    alarms: list[MetricAlarm] = Field(default_factory=list)
    enabled: bool = True
    environments: dict[str, EnvironmentOverride] = Field(default_factory=dict)
    rollout: Rollout | None = None
    shadow: Shadow | None = None

    @field_validator("functions", "secrets", "approvers", "apis")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        _refuse_repeats(values, "listed more than once")
        return values

    @field_validator("emits")
    @classmethod
    def _unique_contracts(cls, emits: list[ContractRef]) -> list[ContractRef]:
        _refuse_repeats([contract.key for contract in emits], "listed more than once")
        return emits

    @field_validator("alarms")
    @classmethod
    def _unique_alarms(cls, alarms: list[MetricAlarm]) -> list[MetricAlarm]:
        _refuse_repeats([alarm.name for alarm in alarms], "alarm names listed more than once")
        return alarms

    @field_validator("owner")
    @classmethod
    def _owner_is_a_team(cls, owner: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]+", owner):
            raise ValueError("owner must be a team slug (lower-case letters, digits, dashes)")
        return owner

    @field_validator("confidential_text")
    @classmethod
    def _text_fields(cls, fields: list[str] | None) -> list[str] | None:
        for index, path in enumerate(fields or []):
            if not re.fullmatch(CONFIDENTIAL_PATH, path):
                raise ValueError(f"item {index}: '{path}' is not a dotted path of the event's detail (body, customer.note)")
        duplicates = sorted({path for path in fields or [] if (fields or []).count(path) > 1})
        if duplicates:
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        return fields

    @model_validator(mode="after")
    def _confidential_text_declared(self) -> Manifest:
        if self.confidential and self.confidential_text is None:
            raise NestedFieldError(
                "confidential_text",
                f"a {self.data_classification} automation names the fields of its event's detail that hold customer "
                "text (confidential_text: [body]), or says it has none (confidential_text: [])",
            )
        if not self.confidential and self.confidential_text is not None:
            raise NestedFieldError(
                "confidential_text",
                f"only confidential or restricted automations keep text apart; this one is {self.data_classification}",
            )
        if self.confidential_text and self.trigger.event_pattern is None:
            raise NestedFieldError("confidential_text", "a scheduled automation's events carry no customer text")
        return self

    @model_validator(mode="after")
    def _shadow_is_this_version(self) -> Manifest:
        # A candidate is the version this manifest deploys: naming another would run code that is not here.
        if self.shadow is not None and self.shadow.version != self.version:
            raise NestedFieldError(
                "shadow.version", f"must be this manifest's version ({self.version}), the candidate it deploys"
            )
        return self

    @property
    def confidential(self) -> bool:
        """Confidential and restricted: customer text stays out of execution history and logs."""
        return self.data_classification in ("confidential", "restricted")

    @property
    def logs_execution_data(self) -> bool:
        """Confidential and restricted data never reaches execution logs."""
        return self.data_classification in ("public", "internal")

    def resolved_for(self, environment: str) -> ResolvedSettings:
        override = self.environments.get(environment, EnvironmentOverride())
        limits = override.limits or self.limits
        if override.limits is not None and "concurrency" not in override.limits.model_fields_set:
            # The concurrency states are the workflow's in every environment: an environment that
            # does not mention concurrency keeps the manifest's.
            limits = limits.model_copy(update={"concurrency": self.limits.concurrency})
        return ResolvedSettings(
            limits=limits,
            approval_required=override.approval_required,
            enabled=self.enabled if override.enabled is None else override.enabled,
            rollout=override.rollout or self.rollout or DEFAULT_ROLLOUTS.get(environment, ALL_AT_ONCE),
        )


class ResolvedSettings(Strict):
    limits: Limits
    rollout: Rollout
    # None: follow the environment's approval policy by risk level.
    approval_required: bool | None
    enabled: bool
