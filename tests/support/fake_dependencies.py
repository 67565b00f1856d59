"""Each module's dependencies as its handler builds them, with AWS replaced by fakes: the real stores
(decision log, approvals, evidence, markers) over an in-memory DynamoDB client, so values are
serialized, hashed and stored as on AWS; the sample world's resources behind the adapters'
interfaces; fixed clocks. Every call builds a fresh world."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.shared.adapters.confidential_store import ConfidentialStore
from functions.shared.adapters.dynamodb import Table
from functions.shared.adapters.notify import Notifier
from functions.shared.adapters.sqs import QueueSender
from functions.shared.domain.approvals import ApprovalStore
from functions.shared.domain.decisions import DecisionLog
from functions.shared.domain.limits import LimitStore
from functions.shared.domain.overrides import OverrideStore
from tests.support.fake_dynamodb import FakeDynamoDB
from tests.support.fake_resources import SampleWorld

NOW = datetime(2026, 11, 22, 3, 20, tzinfo=UTC)
CODE_VERSION = "sha256:code"
ROUTES = ("platform-oncall", "sre-oncall", "security-oncall")
# The tags of the sample alarms (events/alarm_remediation/world.yaml); an alarm not listed has not opted in.
ALARM_TAGS = {
    "orders-api-5xx": {"keel:remediation": "enabled", "keel:ecs-cluster": "orders", "keel:ecs-service": "orders-api"},
    "batch-worker-status-check": {"keel:remediation": "enabled"},
    "orders-events-dlq-not-empty": {"keel:remediation": "enabled"},
    "payments-api-cpu-high": {"keel:remediation": "enabled"},
}


def clock() -> datetime:
    return NOW


def decisions(dynamodb: FakeDynamoDB | None = None) -> DecisionLog:
    return DecisionLog(
        Table("keel-dev-decisions", dynamodb or FakeDynamoDB()), clock=lambda: NOW.isoformat(timespec="milliseconds")
    )


@dataclass
class FakeMetrics:
    added: list[tuple[str, float, str]] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str) -> None:
        self.added.append((name, value, unit))


@dataclass
class FakeMessaging:
    """SNS and SQS clients as Notifier and QueueSender call them: each message is kept and gets an id."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, **message: Any) -> dict[str, str]:
        self.sent.append(message)
        return {"MessageId": f"message-{len(self.sent)}"}

    def send_message(self, **message: Any) -> dict[str, str]:
        return self.publish(**message)


def read_alarm_tags(alarm_arn: str) -> dict[str, str] | None:
    return ALARM_TAGS.get(alarm_arn.rsplit(":", 1)[-1])


def match_runbook_dependencies() -> Any:
    from functions.match_runbook import logic
    from functions.match_runbook.catalog import load_catalog
    from functions.shared.adapters.alarms import ActionsState

    # Alarms' own actions are on: ActionsState names nothing off and nothing unchecked.
    return logic.Dependencies(catalog=load_catalog(), read_tags=read_alarm_tags, alarm_actions=ActionsState)


def check_guardrails_dependencies() -> Any:
    from functions.check_guardrails import logic

    dynamodb = FakeDynamoDB()
    return logic.Dependencies(
        log=DecisionLog(Table("keel-dev-decisions", dynamodb)),
        overrides=OverrideStore(Table("keel-dev-overrides", dynamodb)),
        limits=LimitStore(Table("keel-dev-limits", dynamodb)),
        clock=clock,
        code_version=CODE_VERSION,
    )


def request_approval_dependencies() -> Any:
    from functions.request_approval import logic

    topics = {route: f"arn:aws:sns:eu-west-1:111111111111:keel-dev-oncall-{route}" for route in ROUTES}
    return logic.Dependencies(
        store=ApprovalStore(Table("keel-dev-approvals", FakeDynamoDB())),
        notify=Notifier(json.dumps(topics), sns=FakeMessaging()),
        clock=clock,
    )


def remediate_service_dependencies() -> Any:
    from functions.remediate_service import logic

    world = SampleWorld()
    return logic.Dependencies(
        services=logic.Services(ecs=world.ecs, ec2=world.ec2, sqs=world.sqs), log=decisions(), code_version=CODE_VERSION
    )


def contain_threat_dependencies() -> Any:
    from functions.contain_threat import logic

    world = SampleWorld()
    return logic.Dependencies(services=logic.Services(ec2=world.ec2, iam=world.iam), log=decisions(), code_version=CODE_VERSION)


def verify_remediation_dependencies() -> Any:
    from functions.verify_remediation import logic

    world = SampleWorld()
    readers = logic.Readers(alarms=world.alarms, ecs=world.ecs, ec2=world.ec2, sqs=world.sqs, iam=world.iam)
    return logic.Dependencies(readers=readers, log=decisions(), code_version=CODE_VERSION)


class FakeExecutionVersions:
    """The state machine version and alias of the executions a test names; (None, None) for the others,
    as DescribeExecution answers for an execution started on the state machine itself."""

    def __init__(self, known: dict[str, tuple[str | None, str | None]] | None = None) -> None:
        self.known = dict(known or {})
        self.asked: list[str] = []

    def of(self, execution_arn: str) -> tuple[str | None, str | None]:
        self.asked.append(execution_arn)
        return self.known.get(execution_arn, (None, None))


def record_decision_dependencies(automation: str = "alarm_remediation", versions: FakeExecutionVersions | None = None) -> Any:
    from functions.record_decision import logic

    return logic.Dependencies(
        log=decisions(), code_version=CODE_VERSION, automation=automation, versions=versions or FakeExecutionVersions()
    )


def triage_ticket_dependencies() -> Any:
    from functions.triage_ticket import logic
    from functions.triage_ticket.advisors import build_advisor
    from functions.triage_ticket.evidence import EvidenceStore
    from functions.triage_ticket.policy import load_policy

    policy = load_policy()
    shadow = policy.advisors.shadow
    dynamodb = FakeDynamoDB()
    return logic.Dependencies(
        policy=policy,
        live=build_advisor(policy.advisors.live, policy),
        shadow=build_advisor(shadow, policy) if shadow else None,
        log=decisions(dynamodb),
        evidence=EvidenceStore(Table("keel-dev-confidential", dynamodb)),
        texts=ConfidentialStore(Table("keel-dev-confidential", dynamodb)),
        metrics=FakeMetrics(),
        clock=clock,
        code_version=CODE_VERSION,
    )


def route_ticket_dependencies() -> Any:
    from functions.route_ticket import logic
    from functions.triage_ticket.policy import load_policy

    policy = load_policy()
    dynamodb = FakeDynamoDB()
    urls = {queue: f"https://sqs.eu-west-1.amazonaws.com/111111111111/keel-dev-ticket_triage-{queue}" for queue in policy.queues}
    return logic.Dependencies(
        queues=QueueSender(urls, sqs=FakeMessaging()),
        markers=Table("keel-dev-idempotency", dynamodb),
        texts=ConfidentialStore(Table("keel-dev-confidential", dynamodb)),
        log=decisions(dynamodb),
        metrics=FakeMetrics(),
        clock=clock,
        code_version=CODE_VERSION,
    )


def seal_confidential_dependencies() -> Any:
    from functions.seal_confidential import logic

    return logic.Dependencies(
        store=ConfidentialStore(Table("keel-dev-confidential", FakeDynamoDB())), clock=clock, retention_days=7
    )


def emit_heartbeat_dependencies() -> Any:
    from functions.emit_heartbeat import logic

    return logic.Dependencies(
        store=Table("keel-dev-idempotency", FakeDynamoDB()),
        pending=list,
        metrics=FakeMetrics(),
        clock=clock,
        environment="dev",
    )


@dataclass
class AnsweringApi:
    """An external API that creates and reads whatever it is asked to."""

    def send(self, request: Any, *, fresh: bool = False) -> Any:
        from functions.shared.adapters.http_api import ApiResponse

        return ApiResponse(201 if request.method == "POST" else 200, {"id": "usr_1", "activated": False})


@dataclass
class OpenLimits:
    """A rate limit with room and a closed breaker."""

    def take(self, now: float) -> float | None:
        return None

    def admit(self, now_ms: int) -> Any:
        from functions.shared.domain.api_limits import Admission

        return Admission("closed")

    def succeeded(self, admission: Any) -> None:
        return None

    def failed(self, admission: Any, now_ms: int) -> int | None:
        return None


def crm_settings(**changes: Any) -> Any:
    """The settings of an API-key CRM as call_api reads them from KEEL_APIS, with `changes` applied."""
    from functions.shared.adapters.http_api import ApiSettings

    settings: dict[str, Any] = {
        "base_url": "https://crm.example.com/v2",
        "auth": "api_key",
        "secret": "crm-api-key",
        "header": "X-Api-Key",
        "token_path": "/oauth/token",
        "connect_timeout_seconds": 2,
        "read_timeout_seconds": 2,
        "rate_limit_per_second": 10,
        "breaker_failures": 5,
        "breaker_cooloff_seconds": 5,
        "max_wait_seconds": 600,
    }
    return ApiSettings(**{**settings, **changes})


def call_api_dependencies() -> Any:
    from functions.call_api import logic
    from functions.shared.runtime.errors import ConfigurationError

    guarded = logic.Guarded(crm_settings(), AnsweringApi(), OpenLimits(), OpenLimits())

    def apis(name: str) -> Any:
        if name != "crm":
            raise ConfigurationError(f"API '{name}' is not one this automation declares (apis: crm)")
        return guarded

    return logic.Dependencies(apis=apis, page=lambda *_page: None, clock=NOW.timestamp, sleep=lambda _seconds: None)


@dataclass
class MemoryMarkers:
    keys: set[str] = field(default_factory=set)

    def claim(self, key: str, expires: int) -> bool:
        if key in self.keys:
            return False
        self.keys.add(key)
        return True

    def release(self, key: str) -> None:
        self.keys.discard(key)


@dataclass
class SentMail:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, sender: str, to: str, subject: str, body: str) -> str:
        self.sent.append((to, subject))
        return f"msg-{len(self.sent)}"


def send_email_dependencies() -> Any:
    from functions.send_email import logic

    return logic.Dependencies(markers=MemoryMarkers(), mailer=SentMail(), clock=NOW.timestamp)
