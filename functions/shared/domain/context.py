"""`$.keel`, the context every task receives, and the fields every task input starts with.

This model is the context's one definition: infra/constructs/automation.py builds the state machine
prologue's ResultSelector by dumping a KeelContext, so a field added here is one that synth must fill
(and mypy checks the call), and tasks parse exactly what the prologue writes.
"""

from __future__ import annotations

from functions.shared.runtime.contract import ConfigDict, Field, Model

RISKS = ("low", "medium", "high", "critical")


class Contract(Model):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Limits(Contract):
    # The manifest's limits.concurrency.max in this environment; None: no concurrency limit.
    max_concurrency: int | None
    max_actions_per_window: int
    window_minutes: int


class KeelContext(Contract):
    """`$.keel`: who is running and under which limits, set by the state machine's prologue."""

    automation: str
    version: str
    environment: str
    # The environment's region: printed commands name it, so they run wherever they are pasted.
    region: str
    owner: str
    data_classification: str
    dry_run: bool
    # None: the environment's policy decides by risk (approval_from_risk); True/False: the manifest's override.
    approval_required: bool | None
    approval_from_risk: str
    approval_timeout_seconds: int
    oncall: str
    escalation: str
    approvers: list[str]
    # sha256 of the automation's ASL file as deployed: which workflow made a decision.
    definition_hash: str
    limits: Limits

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
