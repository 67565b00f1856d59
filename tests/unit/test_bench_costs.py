"""keel bench: the price file and the cost arithmetic (per one million runs)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from functions.shared.domain.costs import (
    Cost,
    LambdaUse,
    Usage,
    billed,
    cheaper,
    cost_per_million,
    dynamodb_units,
    unpriced_calls,
)
from functions.shared.domain.prices import PriceFileError, load_prices, parse_prices

REPO = Path(__file__).resolve().parents[2]


def _price_data() -> dict[str, Any]:
    return {
        "region": "us-east-1",
        "currency": "USD",
        "as_of": "2026-11-22",
        "source": "https://aws.amazon.com/pricing/",
        "stepfunctions": {
            "standard_per_transition": 0.000025,
            "express_per_request": 0.000001,
            "express_per_gb_second": 0.00001667,
            "express_memory_mb": 64,
            "express_duration_granularity_ms": 100,
        },
        "lambda": {"architecture": "x86_64", "per_request": 0.0000002, "per_gb_second": 0.00001667, "duration_granularity_ms": 1},
        "dynamodb": {"per_write_request_unit": 0.000000625, "per_read_request_unit": 0.000000125},
        "eventbridge": {"per_custom_event": 0.000001, "per_aws_service_event": 0},
        "api_calls": {"sns:Publish": 0.0000005},
        "cloudwatch_logs": {"per_gb_ingested": 0.5},
    }


def test_the_checked_in_price_file_loads_with_its_date_and_source() -> None:
    prices = load_prices(REPO / "bench" / "prices.json")
    assert prices.region == "us-east-1"
    assert prices.as_of
    assert "aws.amazon.com" in prices.source
    assert prices.standard_per_transition == 0.000025


def test_a_price_file_missing_a_price_is_rejected_naming_it(tmp_path: Path) -> None:
    data = _price_data()
    del data["lambda"]["per_gb_second"]
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PriceFileError, match="'per_gb_second' must be a non-negative number"):
        load_prices(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: data.update(region=""), "'region' must be a non-empty string"),
        (lambda data: data.update(dynamodb=[]), "'dynamodb' must be an object"),
        (lambda data: data["api_calls"].update({"sns:Publish": -1}), "'sns:Publish'"),
        (lambda data: data["lambda"].update(per_request=True), "'per_request'"),
    ],
)
def test_bad_price_values_are_rejected(change: Any, message: str) -> None:
    data = _price_data()
    change(data)
    with pytest.raises(PriceFileError, match=message):
        parse_prices(data)


def test_an_unreadable_price_file_is_a_price_file_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text("{not json")
    with pytest.raises(PriceFileError, match=str(path)):
        load_prices(path)
    with pytest.raises(PriceFileError, match="'stepfunctions' must be an object"):
        parse_prices([])


def test_billed_duration_rounds_up_to_the_granularity() -> None:
    assert billed(0.2, 1) == 1
    assert billed(12.3, 1) == 13
    assert billed(120, 100) == 200
    assert billed(100, 100) == 100


def test_dynamodb_request_units_per_operation() -> None:
    assert dynamodb_units("PutItem") == (1.0, 0.0)
    assert dynamodb_units("TransactWriteItems", 3) == (6.0, 0.0)
    assert dynamodb_units("GetItem") == (0.0, 1.0)
    assert dynamodb_units("DescribeTable") == (0.0, 0.0)


def _usage() -> Usage:
    # Two runs: 4 transitions each, one 256 MB invocation of 10.2 ms each, claim + decision writes
    return Usage(
        runs=2,
        transitions=8,
        invocations=[LambdaUse("act", 256, 10.2), LambdaUse("act", 256, 10.2)],
        calls=Counter({"dynamodb:PutItem": 2, "sns:Publish": 2, "ecs:UpdateService": 1}),
        write_units=4.0,
        read_units=2.0,
        custom_events=2,
        log_bytes=2 * 1024**3 // 1_000_000,
        execution_ms=[150.0, 80.0],
    )


def test_standard_cost_per_million_runs() -> None:
    prices = parse_prices(_price_data())
    cost = cost_per_million(_usage(), prices, "standard")
    assert cost.workflow == pytest.approx(4 * 0.000025 * 1e6)  # $100
    assert cost.lambda_requests == pytest.approx(0.0000002 * 1e6)  # $0.20
    assert cost.lambda_compute == pytest.approx(0.011 * 0.25 * 0.00001667 * 1e6)  # 11 ms billed at 0.25 GB
    assert cost.dynamodb == pytest.approx((2 * 0.000000625 + 1 * 0.000000125) * 1e6)
    assert cost.events == pytest.approx(1.0)
    assert cost.other_calls == pytest.approx(0.5)
    assert cost.logs == pytest.approx(0.5, rel=1e-3)
    assert cost.total == pytest.approx(
        cost.workflow + cost.lambda_requests + cost.lambda_compute + cost.dynamodb + cost.events + cost.other_calls + cost.logs
    )


def test_express_cost_bills_requests_and_rounded_duration_at_64_mb() -> None:
    prices = parse_prices(_price_data())
    cost = cost_per_million(_usage(), prices, "express")
    # per run: $1/M request + (0.2 s and 0.1 s billed -> 0.15 s average) x 64/1024 GB x price
    assert cost.workflow == pytest.approx(1.0 + 0.15 * 0.0625 * 0.00001667 * 1e6)
    assert cheaper(cost_per_million(_usage(), prices, "standard"), cost) == "express"


def test_standard_is_named_when_express_is_not_possible_or_dearer() -> None:
    cheap = Cost(1, 0, 0, 0, 0, 0, 0)
    dear = Cost(2, 0, 0, 0, 0, 0, 0)
    assert cheaper(cheap, None) == "standard"
    assert cheaper(cheap, dear) == "standard"


def test_calls_without_a_price_are_listed() -> None:
    assert unpriced_calls(_usage(), parse_prices(_price_data())) == ["ecs:UpdateService"]


def test_a_cost_per_run_needs_runs() -> None:
    with pytest.raises(ValueError, match="at least one run"):
        cost_per_million(Usage(runs=0), parse_prices(_price_data()), "standard")
    assert Usage(runs=0).per_run(5) == 0.0
    assert _usage().per_run(8) == 4.0
