"""Hooks for moto_patches.installed() in tests that exercise moto alone: no Lambda, rule, callback or
function role (no request is a function's, so none is evaluated)."""

from __future__ import annotations

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
