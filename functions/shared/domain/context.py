"""`$.keel`, the context every task receives, and the fields every task input starts with.

This model is the context's one definition: infra/constructs/automation.py builds the state machine
prologue's ResultSelector by dumping a KeelContext, so a field added here is one that synth must fill
(and mypy checks the call), and tasks parse exactly what the prologue writes.
"""

from __future__ import annotations

from typing import Literal

from functions.shared.runtime.contract import ConfigDict, Field, Model

RISKS = ("low", "medium", "high", "critical")
# The names and bounds synth checks (infra/manifest.py, infra/config.py), checked again here: the
# context arrives in a task's input, and a redriven or hand-started execution can carry anything.
# Names key logs and metric dimensions; a bound keeps date arithmetic in range.
AUTOMATION_NAME = r"^[a-z][a-z0-9_]{2,48}$"
ENVIRONMENT_NAME = r"^[a-z][a-z0-9-]{1,62}$"
REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"


class Contract(Model):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Limits(Contract):
    # The manifest's limits.concurrency.max in this environment; None: no concurrency limit.
    max_concurrency: int | None = Field(ge=1, le=1000)
    max_actions_per_window: int = Field(ge=1)
    window_minutes: int = Field(ge=1, le=24 * 60)


class KeelContext(Contract):
    """`$.keel`: who is running and under which limits, set by the state machine's prologue."""

    automation: str = Field(pattern=AUTOMATION_NAME)
    version: str = Field(min_length=1)
    environment: str = Field(pattern=ENVIRONMENT_NAME)
    # The environment's region: printed commands name it, so they run wherever they are pasted.
    region: str = Field(pattern=REGION)
    owner: str = Field(min_length=1)
    data_classification: str = Field(min_length=1)
    dry_run: bool
    # None: the environment's policy decides by risk (approval_from_risk); True/False: the manifest's override.
    approval_required: bool | None
    approval_from_risk: Literal["never", "low", "medium", "high", "critical"]
    approval_timeout_seconds: int = Field(ge=60, le=7 * 24 * 60 * 60)
    oncall: str = Field(min_length=1)
    escalation: str = Field(min_length=1)
    approvers: list[str]
    # sha256 of the automation's ASL file as deployed: which workflow made a decision.
    definition_hash: str
    limits: Limits
    # A candidate version's shadow run (infra/shadow.py): forced into dry run, recorded as shadow.
    shadow: bool = False

    @property
    def limit_scope(self) -> str:
        """Whose debounce bursts and concurrency slots these are: a shadow run keeps its own."""
        return f"{self.automation}#shadow" if self.shadow else self.automation

    def needs_approval(self, risk: str) -> bool:
        if self.approval_required is not None:
            return self.approval_required
        if self.approval_from_risk == "never":
            return False
        return RISKS.index(risk) >= RISKS.index(self.approval_from_risk)

    def ops_command(self, verb: str, subject: str) -> str:
        """`keel ops VERB SUBJECT` for this automation's environment, complete enough to paste anywhere."""
        return f"keel ops {verb} {subject} --env {self.environment} --region {self.region}"


class TaskInput(Contract):
    """Fields every task receives besides its own: the event id, execution and context."""

    event_id: str = Field(min_length=1)
    execution: str = Field(min_length=1)
    keel: KeelContext
    # The state that invoked the task ($$.State.Name); Keel's payload header always carries it.
    step: str | None = None
