"""Published prices, kept in one data file (bench/prices.json) with their date and source: the benchmark
and the KPIs (functions/shared/domain/kpis.py) price runs with them.

The benchmark never reads prices from the network: the file says when they were transcribed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("bench") / "prices.json"


class PriceFileError(ValueError):
    """The price file is missing a field or has a value that is not a non-negative number."""


@dataclass(frozen=True)
class Prices:
    region: str
    currency: str
    as_of: str
    source: str
    standard_per_transition: float
    express_per_request: float
    express_per_gb_second: float
    express_memory_mb: int
    express_granularity_ms: int
    lambda_architecture: str
    lambda_per_request: float
    lambda_per_gb_second: float
    lambda_granularity_ms: int
    dynamodb_per_wru: float
    dynamodb_per_rru: float
    per_custom_event: float
    per_aws_service_event: float
    api_calls: dict[str, float]
    logs_per_gb: float


def load_prices(path: Path) -> Prices:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise PriceFileError(f"{path}: {error}") from None
    return parse_prices(data, str(path))


def parse_prices(data: Any, where: str = "prices") -> Prices:
    sfn, lam, ddb, events = (_section(data, name, where) for name in ("stepfunctions", "lambda", "dynamodb", "eventbridge"))
    api_calls = _section(data, "api_calls", where)
    return Prices(
        region=_text(data, "region", where),
        currency=_text(data, "currency", where),
        as_of=_text(data, "as_of", where),
        source=_text(data, "source", where),
        standard_per_transition=_number(sfn, "standard_per_transition", where),
        express_per_request=_number(sfn, "express_per_request", where),
        express_per_gb_second=_number(sfn, "express_per_gb_second", where),
        express_memory_mb=int(_number(sfn, "express_memory_mb", where)),
        express_granularity_ms=int(_number(sfn, "express_duration_granularity_ms", where)),
        lambda_architecture=_text(lam, "architecture", where),
        lambda_per_request=_number(lam, "per_request", where),
        lambda_per_gb_second=_number(lam, "per_gb_second", where),
        lambda_granularity_ms=int(_number(lam, "duration_granularity_ms", where)),
        dynamodb_per_wru=_number(ddb, "per_write_request_unit", where),
        dynamodb_per_rru=_number(ddb, "per_read_request_unit", where),
        per_custom_event=_number(events, "per_custom_event", where),
        per_aws_service_event=_number(events, "per_aws_service_event", where),
        api_calls={name: _number(api_calls, name, where) for name in api_calls},
        logs_per_gb=_number(_section(data, "cloudwatch_logs", where), "per_gb_ingested", where),
    )


def _section(data: Any, name: str, where: str) -> dict[str, Any]:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, dict):
        raise PriceFileError(f"{where}: '{name}' must be an object")
    return value


def _text(data: Any, name: str, where: str) -> str:
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise PriceFileError(f"{where}: '{name}' must be a non-empty string")
    return value


def _number(data: dict[str, Any], name: str, where: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PriceFileError(f"{where}: '{name}' must be a non-negative number")
    return float(value)
