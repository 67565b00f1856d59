"""Step Functions operations the local cloud answers as AWS does where moto does not: an unnamed
execution gets a UUID for a name, and ValidateStateMachineDefinition checks a definition."""

from __future__ import annotations

import json
import re
import uuid

from keel.local.cloud import LocalCloud
from keel.local.template import EnvironmentTemplate

HEARTBEAT = "keel-dev-platform_heartbeat"
VALID = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
NO_WAY_OUT = {"StartAt": "Loop", "States": {"Loop": {"Type": "Pass"}}}


def test_an_execution_started_without_a_name_is_named_with_a_uuid(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(dev_template) as cloud:
        sfn = cloud.client("stepfunctions")
        machine = f"arn:aws:states:{dev_template.region}:{dev_template.account}:stateMachine:{HEARTBEAT}"
        # When an execution is started without a name
        started = sfn.start_execution(stateMachineArn=machine, input="{}")
        # Then its ARN ends in a UUID, and describing it by that ARN finds it
        name = started["executionArn"].rsplit(":", 1)[1]
        assert str(uuid.UUID(name)) == name
        assert sfn.describe_execution(executionArn=started["executionArn"])["name"] == name


def test_validate_state_machine_definition_answers_ok_or_fail_with_diagnostics(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(dev_template) as cloud:
        sfn = cloud.client("stepfunctions")
        # When a valid definition, one with no way to end, and broken JSON are validated
        valid = sfn.validate_state_machine_definition(definition=json.dumps(VALID))
        endless = sfn.validate_state_machine_definition(definition=json.dumps(NO_WAY_OUT))
        broken = sfn.validate_state_machine_definition(definition='{"StartAt":')
        capped = sfn.validate_state_machine_definition(definition=json.dumps(NO_WAY_OUT), maxResults=1)
    # Then the first is OK, the others FAIL with an ERROR naming what is wrong
    assert (valid["result"], valid["diagnostics"]) == ("OK", [])
    assert endless["result"] == "FAIL"
    assert {item["code"] for item in endless["diagnostics"]} == {"SCHEMA_VALIDATION_FAILED"}
    assert any(re.search(r"States\.Loop .*\"Next\"", item["message"]) for item in endless["diagnostics"])
    assert [item["code"] for item in broken["diagnostics"]] == ["INVALID_JSON_DESCRIPTION"]
    assert (len(capped["diagnostics"]), capped["truncated"]) == (1, True)
