"""Pure parts of keel bench: statistics, transition counting, importtime parsing, first function."""

from __future__ import annotations

from typing import Any

import pytest

from functions.shared.domain.billing import count_transitions, integration_calls
from keel.bench.automations import express_eligibility, first_function
from keel.bench.cold_import import by_package, parse_importtime
from keel.bench.local_runs import module_of, unique_events
from keel.bench.machine import cpu_model
from keel.bench.stats import median, percentile, ratio


def test_median_of_odd_and_even_counts() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_percentile_interpolates_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 50.0
    assert percentile(values, 90) == pytest.approx(46.0)
    assert percentile([7.0], 90) == 7.0


@pytest.mark.parametrize(("values", "percent"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_rejects_nonsense(values: list[float], percent: float) -> None:
    with pytest.raises(ValueError, match="percent"):
        percentile(values, percent)


def test_ratio_needs_a_positive_reference() -> None:
    assert ratio(3.0, 2.0) == 1.5
    with pytest.raises(ValueError, match="positive"):
        ratio(1.0, 0.0)


def _entered(name: str) -> dict[str, Any]:
    return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}}


def _scheduled(resource_type: str, resource: str, parameters: str = "{}") -> dict[str, Any]:
    details = {"resourceType": resource_type, "resource": resource, "parameters": parameters}
    return {"type": "TaskScheduled", "taskScheduledEventDetails": details}


def test_each_state_entered_is_one_transition_and_each_retry_another() -> None:
    # Given a claim, then a task that failed twice before succeeding, then a Succeed state
    history = [
        {"type": "ExecutionStarted"},
        _entered("KeelClaimEvent"),
        _scheduled("dynamodb", "putItem"),
        {"type": "TaskSucceeded"},
        _entered("Act"),
        _scheduled("lambda", "invoke"),
        {"type": "TaskFailed"},
        _scheduled("lambda", "invoke"),
        {"type": "TaskFailed"},
        _scheduled("lambda", "invoke"),
        {"type": "TaskSucceeded"},
        {"type": "SucceedStateEntered", "stateEnteredEventDetails": {"name": "Done"}},
        {"type": "ExecutionSucceeded"},
    ]
    # Then: 3 states entered + 2 retries
    assert count_transitions(history) == 5


def test_integration_calls_name_service_and_operation() -> None:
    history = [
        _scheduled("dynamodb", "putItem"),
        _scheduled("lambda", "invoke.waitForTaskToken"),
        {"type": "LambdaFunctionScheduled"},
        _scheduled("sns", "publish"),
    ]
    assert integration_calls(history) == {"dynamodb:PutItem": 1, "lambda:Invoke": 2, "sns:Publish": 1}


def test_importtime_output_is_parsed_and_grouped_by_package() -> None:
    output = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       500 |        500 |   botocore.model",
            "import time:      2000 |       2500 | botocore",
            "import time:      3000 |       3000 |     pydantic.main",
            "import time:      1500 |       1500 |   functions.shared.domain.context",
            "import time:       700 |       700 | functions.emit_heartbeat.handler",
        ]
    )
    worst = parse_importtime(output)
    assert worst["botocore"] == 2.0
    costs = by_package(worst, parse_importtime("import time:   10 |   10 | botocore"))
    assert [(cost.package, cost.self_ms, cost.in_bare) for cost in costs] == [
        ("pydantic", 3.0, False),
        ("botocore", 2.5, True),
        ("functions.shared", 1.5, False),
        ("functions.emit_heartbeat", 0.7, False),
    ]


def test_unique_events_cycle_samples_with_distinct_ids() -> None:
    samples = [{"id": "a", "source": "x"}, {"id": "b", "source": "y"}]
    events = unique_events(samples, 5, "label")
    assert [event["source"] for event in events] == ["x", "y", "x", "y", "x"]
    assert len({event["id"] for event in events}) == 5
    assert samples[0]["id"] == "a"


def test_module_of_a_deployed_function() -> None:
    modules = ["act", "react", "emit_heartbeat"]
    assert module_of("arn:aws:lambda:eu-west-1:1:function:keel-dev-emit_heartbeat", modules) == "emit_heartbeat"
    assert module_of("keel-dev-react", modules) == "react"
    assert module_of("keel-dev-other", modules) is None


def test_first_function_follows_the_workflow_from_start_at() -> None:
    definition = {
        "StartAt": "Check",
        "States": {
            "Act": {"Type": "Task", "Parameters": {"FunctionName": "${act}"}, "End": True},
            "Check": {"Type": "Choice", "Default": "Decide"},
            "Decide": {"Type": "Task", "Parameters": {"FunctionName": "${decide}"}, "Next": "Act"},
        },
    }
    assert first_function(definition, ["act", "decide"]) == "decide"
    assert first_function({"StartAt": "Nowhere", "States": {}}, ["act"]) == "act"
    assert first_function({"States": {}}, []) is None


def test_express_is_ruled_out_by_task_tokens_and_long_timeouts() -> None:
    waits = {"StartAt": "Ask", "States": {"Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken"}}}
    assert express_eligibility(waits, 60) == (False, "waits for a task token (Ask)")
    assert express_eligibility({"StartAt": "A", "States": {}}, 900)[0] is False
    assert express_eligibility({"StartAt": "A", "States": {}}, 60) == (True, "allowed")


def test_cpu_model_from_proc_cpuinfo() -> None:
    assert cpu_model("processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\n") == "Intel(R) Xeon(R)"
    assert cpu_model("")  # falls back to the platform's description


def test_bench_is_a_keel_command_with_the_options_the_readme_shows() -> None:
    from keel.cli import parser

    args = parser().parse_args(["bench", "--skip-test-timing", "--events", "50"])
    assert (args.skip_test_timing, args.events, args.runs, args.output) == (True, 50, 7, "BENCHMARKS.md")
