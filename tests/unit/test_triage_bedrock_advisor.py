"""The Bedrock advisor on the same interface, against botocore's Stubber (no network)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from functions.shared.contracts.ticket_created import TicketCreated
from functions.shared.runtime.errors import ThrottledError
from functions.triage_ticket.advisors import ABSTAINED, BedrockAdvisor, build_advisor, load_prompt
from functions.triage_ticket.policy import BedrockAdvisorConfig, load_policy

POLICY = load_policy()
CONFIG = POLICY.advisors.bedrock
TICKET = TicketCreated.model_validate(
    {
        "ticket_id": "TCK-3001",
        "subject": "Cannot log in",
        "body": "The password reset email never arrives.",
        "customer": {"id": "c", "tier": "standard"},
        "channel": "email",
        "created_at": "2026-11-22T09:00:00Z",
    }
)


def converse_response(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 120, "outputTokens": 30, "totalTokens": 150},
        "metrics": {"latencyMs": 420},
    }


@pytest.fixture
def bedrock():
    client = boto3.client("bedrock-runtime", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber


def advisor(client) -> BedrockAdvisor:
    assert CONFIG is not None
    advisor = build_advisor(CONFIG, POLICY, bedrock=client)
    assert isinstance(advisor, BedrockAdvisor)
    return advisor


def test_the_bedrock_advisor_sends_the_versioned_prompt_and_returns_advice(bedrock) -> None:
    # Given the model answers with the JSON the prompt asks for
    client, stubber = bedrock
    prompt = load_prompt(CONFIG.prompt).format(categories=", ".join(POLICY.categories), subject=TICKET.subject, body=TICKET.body)
    stubber.add_response(
        "converse",
        converse_response('Here you go: {"category": "account", "confidence": 0.82, "rationale": "password reset"}'),
        {
            "modelId": CONFIG.model_id,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": CONFIG.max_tokens, "temperature": 0.0},
        },
    )

    # When it advises
    advice = advisor(client).advise(TICKET)

    # Then the advice carries the category, confidence and a version naming model and prompt
    assert (advice.label, advice.confidence, advice.rationale) == ("account", 0.82, "password reset")
    assert advice.model_version == f"bedrock:{CONFIG.model_id}#prompt:{CONFIG.prompt}"
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("I think it is about accounts.", "not a JSON object"),
        ('{"category": "legal", "confidence": 0.9}', "unknown category 'legal'"),
        ('{"category": "account", "confidence": 1.7}', "invalid confidence 1.7"),
        ('{"category": "account", "confidence": 0.9', "not a JSON object"),
    ],
)
def test_an_unusable_answer_becomes_an_abstention_the_policy_sends_to_a_person(bedrock, answer: str, why: str) -> None:
    client, stubber = bedrock
    stubber.add_response("converse", converse_response(answer))

    advice = advisor(client).advise(TICKET)

    assert (advice.label, advice.confidence) == (ABSTAINED, 0.0)
    assert why in advice.rationale
    assert POLICY.decide(TICKET, advice).action == "review"


def test_throttling_surfaces_as_the_error_the_workflow_retries(bedrock) -> None:
    client, stubber = bedrock
    stubber.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)

    with pytest.raises(ThrottledError, match="Bedrock Converse"):
        advisor(client).advise(TICKET)


def test_the_policy_can_name_bedrock_as_an_advisor() -> None:
    # Given a config entry for Bedrock / Then it validates and the default stays the local model
    config = BedrockAdvisorConfig.model_validate({"kind": "bedrock", "model_id": "m", "prompt": "triage-v1"})
    assert config.max_tokens == 300
    assert POLICY.advisors.live.kind == "local"
    assert json.loads(json.dumps(POLICY.advisors.model_dump()))["bedrock"]["prompt"] == "triage-v1"
