"""What moto's interpreter rebuilt on every use is built once, and each execution still gets its own program."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from keel.local import moto_caches, moto_patches
from tests.support.moto_hooks import IdleHooks


class CountingParser:
    def __init__(self, fails: bool = False) -> None:
        self.calls = 0
        self.fails = fails

    def __call__(self, definition: str) -> tuple[Any, Any]:
        self.calls += 1
        if self.fails:
            raise ValueError(f"cannot parse {definition}")
        return object(), ("tree of", definition)


class Program:
    def visit(self, tree: Any) -> tuple[str, Any, Program]:
        return ("program from", tree, self)


def test_a_definition_is_parsed_once_and_each_use_gets_a_program_of_its_own() -> None:
    original = CountingParser()
    parse = moto_caches.cached_parse(original, Program)
    definition = f'{{"StartAt": "{uuid.uuid4()}"}}'

    first_program, first_tree = parse(definition)  # parsed, so moto's own program
    second_program, second_tree = parse(definition)
    third_program, _ = parse(definition)

    assert original.calls == 1
    assert first_tree is second_tree
    assert second_program[:2] == ("program from", first_tree)
    assert second_program[2] is not third_program[2]
    assert not isinstance(first_program, tuple)


def test_a_definition_that_does_not_parse_fails_every_time() -> None:
    original = CountingParser(fails=True)
    parse = moto_caches.cached_parse(original, Program)

    for _ in range(2):
        with pytest.raises(ValueError, match="cannot parse broken"):
            parse("broken")
    assert original.calls == 2


def test_the_least_recently_used_definition_is_dropped_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto_caches, "KEPT_DEFINITIONS", 2)
    original = CountingParser()
    parse = moto_caches.cached_parse(original, Program)
    a, b, c = (f"definition {uuid.uuid4()}" for _ in range(3))

    parse(a)
    parse(b)
    parse(a)  # a is now the most recently used
    parse(c)  # b goes
    parse(a)
    parse(b)

    assert original.calls == 4  # a, b, c, and b again


def test_a_json_path_is_parsed_once() -> None:
    from jsonpath_ng.ext import parse as jsonpath_parse

    parse = moto_caches.cached_json_path(jsonpath_parse)

    assert parse("$.detail.state.value") is parse("$.detail.state.value")
    assert [match.value for match in parse("$.a[*].b").find({"a": [{"b": 1}, {"b": 2}]})] == [1, 2]


def test_one_client_per_service_and_region() -> None:
    made: list[dict[str, Any]] = []

    class Boto3:
        @staticmethod
        def client(**settings: Any) -> object:
            made.append(settings)
            return object()

    boto3 = moto_caches.client_per_service(Boto3)
    lambda_here = boto3.client(service_name="lambda", region_name="eu-west-1", aws_access_key_id="ak")

    assert boto3.client(service_name="lambda", region_name="eu-west-1", aws_access_key_id="ak") is lambda_here
    assert boto3.client(service_name="lambda", region_name="us-east-1") is not lambda_here
    assert boto3.client(service_name="sns", region_name="eu-west-1") is not lambda_here
    assert [(settings["service_name"], settings["region_name"]) for settings in made] == [
        ("lambda", "eu-west-1"),
        ("lambda", "us-east-1"),
        ("sns", "eu-west-1"),
    ]
    assert "endpoint_url" not in made[0]


def test_the_caches_are_installed_and_then_restored() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path

    original_parse = vars(AmazonStateLanguageParser)["parse"]
    originals = (json_path.parse, boto_client.boto3)

    with moto_patches.installed(IdleHooks()):
        assert vars(AmazonStateLanguageParser)["parse"] is not original_parse
        assert (json_path.parse, boto_client.boto3) != originals

    assert vars(AmazonStateLanguageParser)["parse"] is original_parse
    assert isinstance(original_parse, staticmethod)
    assert (json_path.parse, boto_client.boto3) == originals


def test_an_execution_read_from_the_backend_is_what_the_api_says(dev_template: Any, heartbeat_event: Any) -> None:
    from keel.local.cloud import LocalCloud

    with LocalCloud(dev_template) as cloud:
        [delivery] = cloud.deliver(heartbeat_event.event)
        arn = delivery.execution_arn
        assert arn is not None
        cloud.drive()
        stepfunctions = cloud.client("stepfunctions")
        described = stepfunctions.describe_execution(executionArn=arn)
        history = stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"]

        read, events = cloud.execution_record(arn)
        status = cloud.execution_status(arn)

    assert status == read["status"] == described["status"] == "SUCCEEDED"
    for key in ("executionArn", "stateMachineArn"):
        assert read[key] == described[key], key
    for key in ("startDate", "stopDate"):  # the API keeps milliseconds
        assert read[key].replace(microsecond=read[key].microsecond // 1000 * 1000) == described[key], key
    for key in ("input", "output"):  # the same JSON, spaced differently
        assert json.loads(read[key]) == json.loads(described[key]), key
    assert [type(event["type"]) for event in events] == [str] * len(history)
    assert events == history
