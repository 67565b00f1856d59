"""Environment variables as a validated contract model, read once per cold start.

A missing or malformed variable raises ConfigurationError naming it; nothing falls back silently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import TypeVar

from functions.shared.runtime.contract import ConfigDict, Model, ValidationError
from functions.shared.runtime.errors import ConfigurationError


class FunctionSettings(Model):
    """Base for each module's settings; field names are the variable names, lower-cased."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    keel_environment: str


class DecisionSettings(FunctionSettings):
    """What every module that records decisions reads: its automation's decision writer (the one
    function that may append to the decision record), and which code decided."""

    keel_decision_writer: str
    keel_code_version: str


class WriterSettings(FunctionSettings):
    """The decision writer's (record_decision): the decisions table, and the one automation whose chain
    it appends to (its role may write no other's)."""

    keel_decisions_table: str
    keel_automation: str
    keel_code_version: str


class ApiClientSettings(FunctionSettings):
    """What every module that calls the environment's external APIs reads (functions/shared/adapters/http_api.py)."""

    keel_apis: str
    # Set by the local cloud only: its fake APIs' https:// addresses, and the CA that signed their certificates.
    keel_api_endpoints: str | None = None
    keel_api_ca_bundle: str | None = None


S = TypeVar("S", bound=FunctionSettings)


def settings_reader(model: type[S]) -> Callable[[], S]:
    """A module's settings: read and checked on first use, then kept for the execution environment."""
    reader: Callable[[], S] = cache(partial(load_settings, model))
    return reader


def load_settings(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    source = os.environ if environ is None else environ
    values = {key.lower(): value for key, value in source.items() if key.lower() in model.model_fields}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = str(item["loc"][0]).upper()
            problems.append(f"{name} is not set" if item["type"] == "missing" else f"{name}: {item['msg']}")
        raise ConfigurationError("; ".join(problems)) from None


def json_map(variable: str, text: str, what: str) -> dict[str, str]:
    """A variable holding a JSON object of names to strings (topic ARNs, secret ARNs, queue URLs)."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigurationError(f"{variable} is not valid JSON") from None
    if not isinstance(parsed, dict) or not all(isinstance(value, str) for value in parsed.values()):
        raise ConfigurationError(f"{variable} must be a JSON object of {what}")
    return parsed
