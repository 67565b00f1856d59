"""Hooks for moto_patches.installed() in tests that exercise moto alone: no Lambda, rule, callback,
function role (no request is a function's, so none is evaluated), execution or alarm history."""

from __future__ import annotations

from typing import Any

from keel.local.clock import VirtualClock


class IdleHooks:
    clock = VirtualClock()

    def invoke_lambda(self, function: object, event: object) -> tuple[str, bool, str]:
        raise AssertionError("not called")

    def send_to_targets(self, rule: object, event: object, original: object) -> None:
        raise AssertionError("not called")

    def wait_for_callback(self, endpoint: object, timeout: float | None) -> object:
        raise AssertionError("not called")

    def evaluates(self, access_key_id: str) -> bool:
        return False

    def authorize(self, access_key_id: str, call: object) -> None:
        raise AssertionError("not called")

    def execution_started(self, execution_arn: str) -> None:
        raise AssertionError("not called")

    def execution_ended(self, execution_arn: str) -> None:
        raise AssertionError("not called")

    def alarm_history(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        raise AssertionError("not called")
