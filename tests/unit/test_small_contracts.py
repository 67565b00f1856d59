"""Small contracts: nag acknowledgments need a reason, rules keep the manifest's event pattern, approval by risk."""

from __future__ import annotations

import pytest

from functions.shared.domain.context import KeelContext
from infra.event_pattern import rule_pattern
from infra.nag import acknowledge
from tests.support.keel_context import keel_fields

CONTEXT = keel_fields(
    automation="ticket_triage",
    environment="prod",
    owner="tickets-team",
    approval_from_risk="medium",
    approval_timeout_seconds=1800,
    oncall="tickets-oncall",
    approvers=["tickets-oncall"],
    definition_hash="sha256:abc",
    limits={"max_concurrency": 1, "max_actions_per_window": 5, "window_minutes": 60},
)


def test_an_acknowledgment_without_a_specific_reason_is_refused() -> None:
    # Given a vague reason / When a finding is acknowledged with it / Then it is refused before touching the resource
    with pytest.raises(ValueError, match="acknowledgment of AwsSolutions-SQS3 needs a specific reason, got 'not needed'"):
        acknowledge(None, "AwsSolutions-SQS3", "not needed")  # type: ignore[arg-type]


def test_a_rule_keeps_the_manifests_pattern_in_cdks_field_order() -> None:
    # Given a pattern with a top-level matcher (which CDK's typed EventPattern refuses) and an $or
    pattern = {
        "source": [{"prefix": "app."}],
        "detail": {"x": [1, {"numeric": [">", 0]}]},
        "$or": [{"resources": [{"suffix": "-prod"}]}, {"account": ["111111111111"]}],
        "detail-type": ["Order Placed"],
    }

    # When it becomes the rule's EventPattern
    rendered = rule_pattern(pattern)

    # Then every field and value is the manifest's, in the order CDK rendered fields (so old templates are unchanged)
    assert rendered == pattern
    assert list(rendered) == ["detail", "detail-type", "source", "$or"]
    assert rendered["source"] is pattern["source"]


@pytest.mark.parametrize(
    ("changes", "risks_needing_approval"),
    [
        ({}, ["medium", "high", "critical"]),
        ({"approval_from_risk": "never"}, []),
        ({"approval_required": True, "approval_from_risk": "never"}, ["low", "medium", "high", "critical"]),
        ({"approval_required": False}, []),
    ],
    ids=["by-risk", "never", "manifest-forces", "manifest-waives"],
)
def test_approval_follows_the_manifest_override_then_the_environment_policy(changes, risks_needing_approval) -> None:
    # Given the context a workflow receives
    context = KeelContext.model_validate({**CONTEXT, **changes})

    # When each risk is checked / Then the override wins, otherwise the policy's threshold decides
    assert [risk for risk in ("low", "medium", "high", "critical") if context.needs_approval(risk)] == risks_needing_approval
