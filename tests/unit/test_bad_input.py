"""Bad input never crashes a module: whatever a task receives, its handler returns a result or raises
one of the project's errors, and an InvalidInputError names the field.

Each module's handler runs as Lambda runs it (through task_handler), with its dependencies replaced
by fakes, on its real payloads broken the ways external events and hand-made inputs break them
(tests/support/hostile_input.py). A new module joins with one line in MODULES: its name, its real
payloads and its dependencies with fakes.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given

from functions.shared.runtime.contract import Model
from functions.shared.runtime.errors import InvalidInputError
from tests.support import fake_dependencies as fakes
from tests.support import task_payloads as payloads
from tests.support.hostile_input import PROPERTY_SETTINGS, Context, assert_answered, deeply_nested, hostile_payloads

Payload = dict[str, Any]


@dataclass(frozen=True)
class Module:
    name: str
    # Its real inputs: what the workflows pass it for the sample events.
    payloads: Callable[[], list[Payload]]
    # Its logic's Dependencies, built fresh, with fakes for everything that reaches AWS.
    dependencies: Callable[[], Any]


MODULES = [
    Module("match_runbook", payloads.match_runbook, fakes.match_runbook_dependencies),
    Module("check_guardrails", payloads.check_guardrails, fakes.check_guardrails_dependencies),
    Module("request_approval", payloads.request_approval, fakes.request_approval_dependencies),
    Module("remediate_service", payloads.remediate_service, fakes.remediate_service_dependencies),
    Module("contain_threat", payloads.contain_threat, fakes.contain_threat_dependencies),
    Module("verify_remediation", payloads.verify_remediation, fakes.verify_remediation_dependencies),
    Module("record_decision", payloads.record_decision, fakes.record_decision_dependencies),
    Module("triage_ticket", payloads.triage_ticket, fakes.triage_ticket_dependencies),
    Module("route_ticket", payloads.route_ticket, fakes.route_ticket_dependencies),
    Module("emit_heartbeat", payloads.emit_heartbeat, fakes.emit_heartbeat_dependencies),
    Module("seal_confidential", payloads.seal_confidential, fakes.seal_confidential_dependencies),
    Module("call_api", payloads.call_api, fakes.call_api_dependencies),
    Module("send_email", payloads.send_email, fakes.send_email_dependencies),
    # check_event has no dependencies: it validates its input against a contract and returns.
    Module("check_event", payloads.check_event, lambda: None),
]


def changed(payload: Payload, path: tuple[str | int, ...], value: Any) -> Payload:
    """A copy of the payload with the value at `path` replaced (or removed, for REMOVED)."""
    document = copy.deepcopy(payload)
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    if value is REMOVED:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return document


REMOVED = object()


def first(module: Callable[[], list[Payload]], where: Callable[[Payload], bool] = lambda _payload: True) -> Payload:
    return next(payload for payload in module() if where(payload))


def is_alarm(payload: Payload) -> bool:
    return bool(payload["event"]["source"] == "aws.cloudwatch")


def is_finding(payload: Payload) -> bool:
    return bool(payload["event"]["source"] == "aws.guardduty")


def reads_target(payload: Payload) -> bool:
    return bool(payload["plan"]["verify"]["kind"] != "alarm_ok")


def routed(payload: Payload) -> bool:
    return bool(payload["triage"]["action"] == "route" and "review" not in payload)


# The inputs that crashed modules before (issue 14): each stays an example the property test runs.
REGRESSIONS: dict[str, list[Callable[[], Any]]] = {
    "match_runbook": [
        lambda: changed(first(payloads.match_runbook, is_alarm), ("event", "detail", "configuration"), "metrics: none"),
        lambda: changed(first(payloads.match_runbook, is_finding), ("event", "detail", "severity"), [8]),
        lambda: changed(first(payloads.match_runbook, is_finding), ("event", "detail", "severity"), "nan"),
    ],
    "request_approval": [
        lambda: changed(first(payloads.request_approval), ("request", "details", "count"), 1e200),
        lambda: changed(first(payloads.request_approval), ("request", "details", "count"), 10**40),
        lambda: changed(first(payloads.request_approval), ("request", "details", "deep"), deeply_nested(900)),
        lambda: changed(first(payloads.request_approval), ("keel", "approval_timeout_seconds"), 10**12),
    ],
    "record_decision": [
        lambda: changed(first(payloads.record_decision), ("reason",), "expired \ud800 unanswered"),
        lambda: changed(first(payloads.record_decision, lambda p: "failure" in p), ("failure", "Cause"), "[" * 100_000),
    ],
    "contain_threat": [lambda: changed(first(payloads.contain_threat), ("plan", "target"), {})],
    "remediate_service": [
        lambda: changed(first(payloads.remediate_service), ("plan", "target"), {}),
        lambda: changed(
            first(payloads.remediate_service, lambda p: p["plan"]["action"] == "ecs_scale_out"),
            ("plan", "parameters", "increment"),
            "two",
        ),
    ],
    "verify_remediation": [
        lambda: changed(first(payloads.verify_remediation, reads_target), ("plan", "target"), {}),
        lambda: changed(first(payloads.verify_remediation), ("action", "details"), "sg-0c0ffee0c0ffee001"),
    ],
    "check_guardrails": [
        lambda: changed(first(payloads.check_guardrails), ("plan", "cooldown_minutes"), 10**12),
        lambda: changed(first(payloads.check_guardrails), ("keel", "approval_from_risk"), "sometimes"),
    ],
    "route_ticket": [lambda: changed(first(payloads.route_ticket, routed), ("triage", "routing"), {})],
    "triage_ticket": [
        payloads.malformed_ticket,
        lambda: changed(first(payloads.triage_ticket), ("ticket", "subject"), "Refund \udc80 please"),
    ],
    "emit_heartbeat": [lambda: changed(first(payloads.emit_heartbeat), ("time",), "2026-11-22T09:00:00")],
}


def task_model(handler: Callable[..., Any]) -> type[Model]:
    """The model task_handler parses the input into: the annotation of the handler's first argument."""
    function = inspect.unwrap(handler)
    hints = typing.get_type_hints(function)
    model: type[Model] = hints[next(iter(inspect.signature(function).parameters))]
    return model


def field_names(model: type[Model]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()} | set(model.model_fields)


def install(module: Module, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The module's handler, building fresh fake dependencies for every invocation."""
    handler = importlib.import_module(f"functions.{module.name}.handler")
    if hasattr(handler, "dependencies"):
        monkeypatch.setattr(handler, "dependencies", lambda *_args: module.dependencies())
    return handler


@pytest.mark.parametrize("module", MODULES, ids=[module.name for module in MODULES])
def test_the_real_payloads_are_answered_with_a_result(module: Module, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the module's handler with fakes / When each real payload is handled
    handler = install(module, monkeypatch)
    results = [handler.lambda_handler(payload, Context()) for payload in module.payloads()]

    # Then each has a result: what the property test breaks starts from inputs that work
    assert results
    assert all(isinstance(result, dict) for result in results)


@pytest.mark.parametrize("module", MODULES, ids=[module.name for module in MODULES])
def test_bad_input_is_answered_with_a_result_or_a_keel_error(module: Module, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the module's handler with fakes, and its real payloads broken in one to three places
    handler = install(module, monkeypatch)
    model = task_model(handler.lambda_handler)
    fields = field_names(model)

    @PROPERTY_SETTINGS
    @given(payload=hostile_payloads(module.payloads()))
    def answered(payload: Any) -> None:
        # When the handler gets it / Then it returns a JSON result or raises one of the project's errors,
        # and an InvalidInputError names the field, on one line
        assert_answered(handler.lambda_handler, payload, model.__name__, fields)

    for regression in REGRESSIONS.get(module.name, []):
        answered = example(payload=regression())(answered)
    answered()


@pytest.mark.parametrize(
    ("module", "regression", "named"),
    [
        ("match_runbook", 0, "MatchInput: event.detail.configuration: Input should be a valid dictionary"),
        ("match_runbook", 1, "MatchInput: event.detail.severity: Input should be a valid number"),
        ("request_approval", 0, "ApprovalInput: request.details.count: a number DynamoDB cannot store"),
        ("request_approval", 2, "ApprovalInput: request.details.deep.0.0."),
        ("record_decision", 0, "RecordInput: reason: not valid Unicode: a lone surrogate at position 8"),
        ("contain_threat", 0, "ActInput: plan.target: Value error, instance_id: Field required by ec2_isolate"),
        ("remediate_service", 0, "ActInput: plan.target: Value error, cluster: Field required by ecs_force_new_deployment"),
        ("verify_remediation", 0, "VerifyInput: plan.target: Value error, instance_id: Field required by ec2_reboot"),
        ("triage_ticket", 1, "TriageInput: ticket.subject: not valid Unicode: a lone surrogate at position 7"),
        ("route_ticket", 0, "RouteInput: triage.routing: Value error, no queue for category"),
        ("emit_heartbeat", 0, "HeartbeatInput: time: Value error, must carry a time zone"),
    ],
)
def test_each_input_that_crashed_is_an_invalid_input_error_naming_its_field(
    module: str, regression: int, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an input that once crashed the module
    handler = install(next(entry for entry in MODULES if entry.name == module), monkeypatch)
    payload = REGRESSIONS[module][regression]()

    # When it is handled / Then it is refused, naming the field
    with pytest.raises(InvalidInputError) as refused:
        handler.lambda_handler(payload, Context())
    assert str(refused.value).startswith(named), str(refused.value)[:300]


def test_the_readme_shows_a_line_of_the_modules_list() -> None:
    # Given the README's line that adds a module to MODULES
    readme = (payloads.EVENTS.parent / "README.md").read_text()
    blocks = [block.strip() for block in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)]
    line = next(block for block in blocks if block.startswith("Module("))

    # Then it is one of this file's lines, and the module it names is tested here
    assert f"    {line},\n" in Path(__file__).read_text()
    assert eval(line, {"Module": Module, "payloads": payloads, "fakes": fakes}) in MODULES  # the README's own line
