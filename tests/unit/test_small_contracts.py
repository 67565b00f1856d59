"""Small contracts: nag acknowledgments need a reason, event patterns keep EventBridge's fields, approval by risk."""

from __future__ import annotations

import pytest

from functions.shared.domain.context import KeelContext
from infra.event_pattern import to_event_pattern
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


def test_an_event_pattern_with_an_unknown_field_is_refused() -> None:
    # Given a pattern with a field EventBridge events do not have / When converted / Then it is refused, naming it
    with pytest.raises(ValueError, match="unknown top-level event field\\(s\\) detail_type"):
        to_event_pattern({"source": ["keel.test"], "detail_type": ["X"]})


def test_an_event_pattern_keeps_its_values() -> None:
    # Given EventBridge's own field names / When converted / Then each lands on CDK's keyword
    pattern = to_event_pattern(
        {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"], "detail": {"x": [1]}}
    )
    assert (pattern.source, pattern.detail_type, pattern.detail) == (
        ["aws.cloudwatch"],
        ["CloudWatch Alarm State Change"],
        {"x": [1]},
    )


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
