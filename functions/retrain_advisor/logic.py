"""Retrain an advisor after drift: train a candidate on the categories people gave, compare it with the
live model on tickets neither saw, store it as a new model version, and put it in shadow if it is better.

Promotion stays a person's decision (`keel ops promote-model`). Every step is a decision record: what it
was trained on (how many labels, from which decisions, the labels' digest), both models' evaluation on
the same held-out split, the versions, where the candidate is stored, and whether it went to shadow.
A candidate is better when its held-out accuracy is higher, or equal with a lower Brier score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from functions.retrain_advisor.config import RetrainingConfig
from functions.retrain_advisor.labels import ChainItems, Evidence, Labels, reviewed_labels
from functions.shared.adapters.model_store import Role, model_digest
from functions.shared.domain.context import TaskInput
from functions.shared.domain.decisions import Decision, Recorder, decision_in, digest
from functions.shared.runtime.clock import Clock
from functions.shared.runtime.contract import ConfigDict, Field, Model
from functions.shared.runtime.errors import InvalidInputError
from functions.shared.ticket_model.naive_bayes import NaiveBayesModel
from functions.shared.ticket_model.training import Evaluation, Splits, evaluate, seeded_split, train_model


class DriftDetected(Model):
    """The "Advisor Drift Detected" event's detail (source keel.advisors): what drifted and when."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    automation: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    signal: Literal["confidence", "agreement"]
    detector: Literal["ADWIN", "PageHinkley"]
    detected_at: datetime
    observations: int = Field(ge=0)
    mean_before: float
    mean_after: float
    drift_id: str = Field(min_length=1, max_length=128)


class RetrainInput(TaskInput):
    step: str = Field(min_length=1)
    drift: DriftDetected


class Models(Protocol):
    def where(self, automation: str, model_version: str) -> str: ...

    def put_model(self, automation: str, model_version: str, model: dict[str, Any], record: dict[str, Any]) -> bool: ...

    def model(self, automation: str, model_version: str) -> dict[str, Any] | None: ...

    def point(self, automation: str, role: Role, model_version: str, fields: dict[str, Any]) -> None: ...


class PackagedModels(Protocol):
    """The models shipped with the advised module (the live one, unless a person promoted a stored one)."""

    def __call__(self, model_version: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Dependencies:
    config: RetrainingConfig
    chain: ChainItems
    evidence: Evidence
    models: Models
    packaged: PackagedModels
    log: Recorder
    clock: Clock
    code_version: str


@dataclass(frozen=True)
class Comparison:
    candidate: Evaluation
    live: Evaluation

    @property
    def better(self) -> bool:
        if self.candidate.accuracy != self.live.accuracy:
            return self.candidate.accuracy > self.live.accuracy
        return self.candidate.brier_score < self.live.brier_score

    def as_json(self) -> dict[str, Any]:
        return {"candidate": self.candidate.as_json(), "live": self.live.as_json(), "candidate_better": self.better}


def retrain(task: RetrainInput, deps: Dependencies) -> dict[str, Any]:
    config, drift, now = deps.config, task.drift, deps.clock()
    if drift.automation != config.automation:
        raise InvalidInputError(
            f"drift.automation: {drift.automation!r} is not the automation this retrains ({config.automation})"
        )
    labels = reviewed_labels(config.automation, now - timedelta(days=config.label_window_days), now, deps.chain, deps.evidence)
    categories = sorted({ticket.label for ticket in labels.tickets})
    if len(labels.tickets) < config.min_reviewed_labels or len(categories) < config.min_categories:
        reason = (
            f"too few reviewed labels to retrain: {len(labels.tickets)} in {len(categories)} categories "
            f"(needs {config.min_reviewed_labels} in {config.min_categories}); nothing trained, nothing in shadow"
        )
        deps.log.record(
            _decision(task, deps, Step("train_candidate", "skipped", "too-few-labels", reason, {"labels": labels.summary()}))
        )
        return {"result": "too_few_labels", "labels": labels.summary(), "reason": reason}
    live = _live_model(drift, deps)
    splits = seeded_split(
        labels.tickets, seed=config.seed, test_share=config.test_share, validation_share=config.validation_share
    )
    version = candidate_version(drift, now)
    model, candidate_evaluation = train_model(splits, name=config.model_name, version=version, bigrams=config.bigrams)
    model["trained"] = _trained_on(labels, splits, drift, config)
    model["data"] = {
        "kind": "reviewed",
        "note": f"categories reviewers gave {config.automation}'s tickets in the last {config.label_window_days} days",
    }
    candidate = NaiveBayesModel.from_json(model)
    comparison = Comparison(candidate=candidate_evaluation, live=evaluate(live, splits.test))
    stored_at = _store(task, deps, candidate, model, comparison)
    retrained = Retrained(candidate, model, live, comparison, stored_at, labels)
    decisions = [_trained(task, deps, retrained)]
    if comparison.better:
        deps.models.point(
            config.automation,
            "shadow",
            candidate.model_version,
            {"set_at": now.isoformat(), "set_by": task.keel.automation, "drift_id": drift.drift_id, "execution": task.execution},
        )
    decisions.append(_shadowed(task, deps, retrained))
    deps.log.record_all(decisions)
    return {
        "result": "in_shadow" if comparison.better else "not_better",
        "candidate": candidate.model_version,
        "live": live.model_version,
        "stored_at": stored_at,
        "labels": labels.summary(),
        "evaluation": comparison.as_json(),
    }


def candidate_version(drift: DriftDetected, now: datetime) -> str:
    """A version the drift names: the same drift retrained again (a retried task) writes the same version."""
    return f"{now:%Y%m%d}.{digest(drift.drift_id)[7:19]}"


def _live_model(drift: DriftDetected, deps: Dependencies) -> NaiveBayesModel:
    """The model that drifted: one a person promoted from the store, or one shipped with the module."""
    model = deps.models.model(deps.config.automation, drift.model_version) or deps.packaged(drift.model_version)
    if model is None:
        raise InvalidInputError(f"drift.model_version: {drift.model_version!r} is neither stored nor shipped with the advisor")
    return NaiveBayesModel.from_json(model)


def _trained_on(labels: Labels, splits: Splits, drift: DriftDetected, config: RetrainingConfig) -> dict[str, Any]:
    examples = sorted((ticket.id, ticket.label) for ticket in labels.tickets)
    return {
        "source": f"reviewed decisions of {config.automation}",
        "labels_digest": digest(examples),
        "splits": splits.sizes(),
        "seed": config.seed,
        "retraining_config": config.version,
        "drift_id": drift.drift_id,
    }


def _store(
    task: RetrainInput, deps: Dependencies, candidate: NaiveBayesModel, model: dict[str, Any], comparison: Comparison
) -> str:
    automation = deps.config.automation
    record = {
        "stored_at": deps.clock().isoformat(),
        "evaluation": json.loads(json.dumps(comparison.as_json())),
        "drift_id": task.drift.drift_id,
        "execution": task.execution,
    }
    deps.models.put_model(automation, candidate.model_version, model, record)
    return deps.models.where(automation, candidate.model_version)


@dataclass(frozen=True)
class Retrained:
    """A trained candidate: its model (and JSON), the live model, both evaluations, where it is stored, its labels."""

    candidate: NaiveBayesModel
    model: dict[str, Any]
    live: NaiveBayesModel
    comparison: Comparison
    stored_at: str
    labels: Labels


def _trained(task: RetrainInput, deps: Dependencies, retrained: Retrained) -> Decision:
    candidate, model, live, comparison, labels = (
        retrained.candidate,
        retrained.model,
        retrained.live,
        retrained.comparison,
        retrained.labels,
    )
    figures = comparison.as_json()
    reason = (
        f"trained {candidate.model_version} on {len(labels.tickets)} reviewed labels after {task.drift.detector} found drift in "
        f"{task.drift.signal}; held-out accuracy {comparison.candidate.accuracy:.2f} (live {comparison.live.accuracy:.2f}), "
        f"Brier {comparison.candidate.brier_score:.3f} (live {comparison.live.brier_score:.3f})"
    )
    details = {
        "labels": labels.summary(),
        "trained": candidate.metadata["trained"],
        "evaluation": figures,
        "stored_at": retrained.stored_at,
        "model_digest": model_digest(model),
    }
    versions = {"candidate": candidate.model_version, "live": live.model_version}
    return _decision(task, deps, Step("train_candidate", "taken", "drift-retrain", reason, details, versions))


def _shadowed(task: RetrainInput, deps: Dependencies, retrained: Retrained) -> Decision:
    automation, candidate, live = deps.config.automation, retrained.candidate, retrained.live
    if retrained.comparison.better:
        reason = (
            f"{candidate.model_version} advises {automation} in shadow beside {live.model_version}; a person promotes it or not"
        )
        outcome, rule, details = "taken", "candidate-better", {"promote": _promote(task, candidate, automation)}
    else:
        reason = f"{candidate.model_version} is not better than {live.model_version} on the held-out tickets: not put in shadow"
        outcome, rule, details = "refused", "candidate-not-better", {}
    versions = {"candidate": candidate.model_version, "live": live.model_version}
    return _decision(task, deps, Step("shadow_candidate", outcome, rule, reason, details, versions))


def _promote(task: RetrainInput, candidate: NaiveBayesModel, automation: str) -> str:
    """The command a person runs to make the candidate live (their reason replaces the quoted one)."""
    command = task.keel.ops_command("promote-model", f"{automation} {candidate.model_version}")
    return f'{command} --reason "better on the held-out reviewed tickets"'


@dataclass(frozen=True)
class Step:
    """What one retraining step records: its action, outcome, rule, reason and figures."""

    action: str
    outcome: str
    rule: str
    reason: str
    details: dict[str, Any]
    versions: dict[str, str] | None = None


def _decision(task: RetrainInput, deps: Dependencies, step: Step) -> Decision:
    drift, action, outcome, rule, reason, details, versions = (
        task.drift,
        step.action,
        step.outcome,
        step.rule,
        step.reason,
        step.details,
        step.versions,
    )
    return decision_in(
        task,
        # One record per step of the retraining: each (execution, step) is recorded once.
        step=f"{task.step}:{action}",
        action=action,
        outcome=outcome,
        reason=reason,
        rule=rule,
        resource=f"advisor/{deps.config.automation}",
        trigger=(
            f"Advisor Drift Detected {drift.drift_id}: {drift.detector} on {drift.signal}, "
            f"{drift.mean_before:.2f} -> {drift.mean_after:.2f}"
        ),
        input_digest=digest({"automation": drift.automation, "model_version": drift.model_version, **_drift_json(drift)}),
        code_version=deps.code_version,
        versions=versions or {"live": drift.model_version},
        details={**details, "drift": _drift_json(drift)},
    )


def _drift_json(drift: DriftDetected) -> dict[str, Any]:
    return {
        "drift_id": drift.drift_id,
        "signal": drift.signal,
        "detector": drift.detector,
        "detected_at": drift.detected_at.isoformat(),
        "observations": drift.observations,
        "mean_before": drift.mean_before,
        "mean_after": drift.mean_after,
    }
