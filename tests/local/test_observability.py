"""The local cloud observes like CloudWatch: a failing execution pages its owner through its alarm, alarms
recover, the heartbeat's dead man's switch fires, handler and execution logs reach their log groups,
and the aws CLI sees all of it against a served cloud whose schedule fires."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from keel.cli import main
from keel.local import server
from keel.local.cloud import LocalCloud
from keel.local.eventbridge import EventFile
from keel.local.faults import FaultPlan, FunctionFault
from keel.local.template import EnvironmentTemplate
from tests.local.conftest import HEARTBEAT_EVENT, ROOT, edited
from tests.support.eventually import eventually
from tests.support.pasted import free_port, paste

ALWAYS = 1000
FAILED_EXECUTIONS = "keel-dev-platform_heartbeat-platform_heartbeat-Failure-Count-Critical"
MISSING_HEARTBEAT = "keel-dev-platform_heartbeat-missing-heartbeat"
HEARTBEAT_LOGS = "/keel/dev/functions/platform_heartbeat/emit_heartbeat"
HEARTBEAT_MACHINE_LOGS = "/keel/dev/statemachines/platform_heartbeat"
AWS = "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region eu-west-1 --output json"


def test_a_failing_execution_pages_its_owner_and_the_run_prints_the_page(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the heartbeat, whose function fails every time it runs
    arguments = ["--root", str(ROOT), "local", "run", "--outdir", str(assembly), str(HEARTBEAT_EVENT)]

    # When it runs
    code = main([*arguments, "--fail", "emit_heartbeat:Boom:100"])

    # Then the execution failed, its failed-executions alarm went to ALARM, and the run prints the page
    # its owner's on-call route (platform-oncall, the manifest's `oncall`) received
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED" in out
    assert f"{FAILED_EXECUTIONS}: INSUFFICIENT_DATA -> ALARM" in out
    assert f'PAGE platform-oncall: ALARM: "{FAILED_EXECUTIONS}" in Europe (Ireland)' in out


def ok_actions(resource: dict[str, Any]) -> None:
    """The failed-executions alarm also tells its topic when it recovers (OKActions, as a team may set)."""
    properties = resource.get("Properties", {})
    if resource["Type"] == "AWS::CloudWatch::Alarm" and properties.get("AlarmName") == FAILED_EXECUTIONS:
        properties["OKActions"] = copy.deepcopy(properties["AlarmActions"])


def test_alarms_change_state_on_virtual_time_and_notify_as_cloudwatch_does(
    dev_template: EnvironmentTemplate, heartbeat_event: EventFile
) -> None:
    faults = FaultPlan([FunctionFault("emit_heartbeat", "error", ALWAYS, error="Boom")])
    with LocalCloud(edited(dev_template, ok_actions), faults=faults) as cloud:
        # Given a heartbeat execution that failed: its alarm is in ALARM and paged with CloudWatch's message
        cloud.deliver(heartbeat_event.event)
        cloud.drive()
        [execution] = cloud.execution_arns()
        states = cloud.observatory.states()
        assert states[FAILED_EXECUTIONS] == "ALARM"
        [page] = [page for page in cloud.pages() if page.subject == f'ALARM: "{FAILED_EXECUTIONS}" in Europe (Ireland)']
        message = json.loads(page.message)
        assert (message["OldStateValue"], message["NewStateValue"]) == ("INSUFFICIENT_DATA", "ALARM")
        assert message["AlarmArn"].endswith(f":alarm:{FAILED_EXECUTIONS}")
        [metric] = [query["MetricStat"]["Metric"] for query in message["Trigger"]["Metrics"]]
        assert metric["MetricName"] == "ExecutionsFailed"
        machine = execution.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        assert metric["Dimensions"] == [{"value": machine, "name": "StateMachineArn"}]

        # When half an hour passes with no execution
        cloud.clock.advance(1800)

        # Then the failure has left the alarm's evaluation range: OK, and its OK action told the topic
        assert cloud.observatory.states()[FAILED_EXECUTIONS] == "OK"
        assert any(page.subject == f'OK: "{FAILED_EXECUTIONS}" in Europe (Ireland)' for page in cloud.pages())
        history = cloud.client("cloudwatch").describe_alarm_history(AlarmName=FAILED_EXECUTIONS, HistoryItemType="StateUpdate")
        assert [item["HistorySummary"] for item in history["AlarmHistoryItems"]] == [
            "Alarm updated from ALARM to OK",
            "Alarm updated from INSUFFICIENT_DATA to ALARM",
        ]
        # And no heartbeat for 15 minutes (its missing data breaches): the dead man's switch pages
        assert cloud.observatory.states()[MISSING_HEARTBEAT] == "ALARM"
        assert any(page.subject == f'ALARM: "{MISSING_HEARTBEAT}" in Europe (Ireland)' for page in cloud.pages())


def test_logs_and_metrics_of_what_ran_reach_cloudwatch(dev_template: EnvironmentTemplate, heartbeat_event: EventFile) -> None:
    with LocalCloud(dev_template) as cloud:
        # Given a heartbeat that ran
        cloud.deliver(heartbeat_event.event)
        cloud.drive()
        [execution] = cloud.execution_arns()
        logs, cloudwatch = cloud.client("logs"), cloud.client("cloudwatch")

        # When its function's log group, its state machine's log group and the metrics are read
        handler = [event["message"] for event in logs.filter_log_events(logGroupName=HEARTBEAT_LOGS)["events"]]
        streams = [stream["logStreamName"] for stream in logs.describe_log_streams(logGroupName=HEARTBEAT_LOGS)["logStreams"]]
        history = [
            json.loads(event["message"]) for event in logs.filter_log_events(logGroupName=HEARTBEAT_MACHINE_LOGS)["events"]
        ]
        heartbeat = cloudwatch.list_metrics(Namespace="Keel", MetricName="Heartbeat")["Metrics"]
        machine = cloud.client("stepfunctions").describe_state_machine(
            stateMachineArn=cloud.execution_record(execution)[0]["stateMachineArn"]
        )

        # Then the invocation is framed as Lambda frames it, in its execution environment's stream, its
        # EMF line is there and became the metric
        [stream] = streams
        # Workflows invoke the versions a deploy published: Lambda names the stream after the version
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\d+\][0-9a-f]{32}", stream)
        assert handler[0].startswith("START RequestId: ")
        assert any(line.startswith('{"_aws"') for line in handler)
        assert handler[-1].startswith("REPORT RequestId: ")
        assert heartbeat == [
            {
                "Namespace": "Keel",
                "MetricName": "Heartbeat",
                "Dimensions": [
                    {"Name": "environment", "Value": "dev"},
                    {"Name": "automation", "Value": "platform_heartbeat"},
                    {"Name": "service", "Value": "emit_heartbeat"},
                ],
            }
        ]
        # And the execution's history is logged at the template's level (ALL), the settings shown as deployed
        assert history[0]["type"] == "ExecutionStarted"
        assert history[-1]["type"] == "ExecutionSucceeded"
        assert {entry["execution_arn"] for entry in history} == {execution}
        assert machine["loggingConfiguration"]["level"] == "ALL"
        assert machine["tracingConfiguration"] == {"enabled": True}


def test_run_logs_shows_each_invocations_log_under_its_state(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--root", str(ROOT), "local", "run", "--outdir", str(assembly), str(HEARTBEAT_EVENT), "--logs"])

    out = capsys.readouterr().out
    assert code == 0
    block = out[out.index("  logs:") :]
    assert "    EmitHeartbeat (emit_heartbeat) ok, " in block
    assert '      {"_aws":' in block


def test_the_aws_cli_sees_what_ran_in_a_served_cloud_whose_schedule_fires(
    dev_template: EnvironmentTemplate, tmp_path: Path
) -> None:
    port = free_port()
    endpoint = f"--endpoint-url http://127.0.0.1:{port}"
    # Given a served cloud whose clock runs 300 times as fast (rate(5 minutes): a heartbeat a second),
    # the heartbeat's function failing every time
    with server.serving(dev_template, port, speed=300) as cloud:
        cloud.faults.functions.append(FunctionFault("emit_heartbeat", "error", ALWAYS, error="Boom"))

        # When the schedule has fired and its execution failed
        def alarming() -> list[str]:
            listed = paste(f"{AWS} cloudwatch describe-alarms --state-value ALARM {endpoint}", tmp_path)
            return [alarm["AlarmName"] for alarm in json.loads(listed.out or "{}").get("MetricAlarms", [])]

        eventually(lambda: FAILED_EXECUTIONS in alarming(), "the failed heartbeat's alarm in ALARM")
        executions = cloud.execution_arns()

        # Then the aws CLI lists its metrics, its alarm in ALARM with its history, and its function's logs
        metrics = json.loads(paste(f"{AWS} cloudwatch list-metrics --namespace AWS/States {endpoint}", tmp_path).out)["Metrics"]
        history = json.loads(
            paste(f"{AWS} cloudwatch describe-alarm-history --alarm-name {FAILED_EXECUTIONS} {endpoint}", tmp_path).out
        )
        logged = json.loads(paste(f"{AWS} logs filter-log-events --log-group-name {HEARTBEAT_LOGS} {endpoint}", tmp_path).out)
    assert executions, "the schedule started the heartbeat"
    assert all(":execution:keel-dev-platform_heartbeat:" in execution for execution in executions)
    assert {"ExecutionsStarted", "ExecutionsFailed", "ExecutionTime"} <= {metric["MetricName"] for metric in metrics}
    assert any(item["HistorySummary"].endswith(" to ALARM") for item in history["AlarmHistoryItems"])
    assert any("injected Boom" in event["message"] for event in logged["events"])
