"""The guardrail limits under real concurrency, end to end in the local cloud: 50 alarms fire at once.

Handlers run in worker processes, several invocations of a function at once, so the 50 executions
race through the cooldown lease, the blast-radius slots and the concurrency slots of the limits table
for real. What each test counts comes from the cloud's own state: decision records, execution
outputs, ECS deployments, and the limits table's stream (every write to it, in order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from keel.bench.limit_stream import limit_writes, most_holders, stream_limit_writes
from keel.local.cloud import LocalCloud
from keel.local.report import ExecutionReport, execution_report
from keel.local.template import EnvironmentTemplate, load_environment
from keel.ops.session import OpsSession

ALARMS = 50
# alarm_remediation's limits (automations/alarm_remediation.yaml): 10 actions an hour, 5 acting at once.
BLAST_RADIUS = 10
CONCURRENCY = 5
CLUSTER = "orders"


@dataclass(frozen=True)
class Run:
    """What 50 alarms at once left behind."""

    executions: list[ExecutionReport]
    decisions: list[tuple[str, str, str]]  # (execution arn, action, outcome) of every decision recorded
    redeployed: set[str]  # the services whose deployment was replaced
    limit_writes: list[dict[str, Any]]  # the limits table's stream records, oldest first


def service_world(cloud: LocalCloud, services: list[str], alarms: list[tuple[str, str]]) -> None:
    """ECS services that opted in to remediation, and 5xx alarms naming them in their tags, back to OK
    by the time a remediation verifies (alarm name, service)."""
    ecs, cloudwatch = cloud.client("ecs"), cloud.client("cloudwatch")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(family="api", containerDefinitions=[{"name": "api", "image": "example/api:1", "memory": 512}])
    for service in services:
        tags = [{"key": "keel:remediation", "value": "enabled"}]
        ecs.create_service(cluster=CLUSTER, serviceName=service, taskDefinition="api", desiredCount=1, tags=tags)
    for alarm, service in alarms:
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Dimensions=[{"Name": "TargetGroup", "Value": f"targetgroup/{service}/0"}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=20,
            ComparisonOperator="GreaterThanThreshold",
            Tags=[
                {"Key": "keel:remediation", "Value": "enabled"},
                {"Key": "keel:ecs-cluster", "Value": CLUSTER},
                {"Key": "keel:ecs-service", "Value": service},
            ],
        )
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="back under the threshold")


def alarm_event(template: EnvironmentTemplate, alarm: str, service: str) -> dict[str, Any]:
    """A CloudWatch "Alarm State Change" to ALARM, as EventBridge delivers it."""
    return {
        "version": "0",
        "id": f"storm-{alarm}",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": template.account,
        "time": "2026-11-22T03:12:00Z",
        "region": template.region,
        "resources": [f"arn:aws:cloudwatch:{template.region}:{template.account}:alarm:{alarm}"],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2026-11-22T03:12:00.000+0000"},
            "previousState": {"value": "OK", "reason": "Threshold Crossed", "timestamp": "2026-11-22T03:00:00.000+0000"},
            "configuration": {
                "metrics": [
                    {
                        "id": "m1",
                        "metricStat": {
                            "metric": {
                                "namespace": "AWS/ApplicationELB",
                                "name": "HTTPCode_Target_5XX_Count",
                                "dimensions": {"TargetGroup": f"targetgroup/{service}/0"},
                            },
                            "period": 60,
                            "stat": "Sum",
                        },
                        "returnData": True,
                    }
                ]
            },
        },
    }


def deployment_ids(cloud: LocalCloud, services: list[str]) -> dict[str, str]:
    """Each service's current deployment (a forced new deployment replaces it)."""
    ecs = cloud.client("ecs")
    pages = [
        ecs.describe_services(cluster=CLUSTER, services=services[first : first + 10])["services"]
        for first in range(0, len(services), 10)
    ]
    return {service["serviceName"]: service["deployments"][0]["id"] for page in pages for service in page}


def storm(template: EnvironmentTemplate, alarms: list[tuple[str, str]], *, approve: bool) -> Run:
    """Every alarm delivered before any is driven, so their executions overlap; then driven to their end
    (or, in an environment whose approvals nobody answers, until each ends or waits for a person)."""
    services = sorted({service for _, service in alarms})
    with LocalCloud(template) as cloud:
        service_world(cloud, services, alarms)
        stream_limit_writes(cloud)
        before = deployment_ids(cloud, services)
        for alarm, service in alarms:
            cloud.deliver(alarm_event(template, alarm, service))
        cloud.drive("approve" if approve else None, expire_waits=approve)
        reports = [execution_report(cloud, arn) for arn in cloud.execution_arns()]
        executions = [report for report in reports if report.automation == "alarm_remediation"]
        log = OpsSession(environment=template.environment, region=template.region).decisions
        decisions: list[tuple[str, str, str]] = [
            (execution.execution_arn, record.decision.action, record.decision.outcome)
            for execution in executions
            for record in log.for_execution(execution.execution_arn)
        ]
        after = deployment_ids(cloud, services)
        redeployed = {service for service in services if after[service] != before[service]}
        return Run(executions, decisions, redeployed, limit_writes(cloud))


def what_happened(run: Run) -> str:
    """Each execution that did not end resolved or refused, and every error its states met: what a
    failing assertion prints, so a failure says which execution did what."""
    lines = []
    for execution in run.executions:
        outcome = execution.output.get("outcome") if isinstance(execution.output, dict) else None
        errors = [(visit.name, error.get("error", "")) for visit in execution.states for error in visit.errors]
        if outcome not in ("resolved", "refused") or errors:
            lines.append(f"{execution.name}: {execution.status} {outcome} {execution.error or ''} errors={errors}")
    return "\n".join(lines) or "every execution ended resolved or refused, without errors"


def outcomes(run: Run) -> list[str]:
    return sorted(
        str(execution.output.get("outcome")) if isinstance(execution.output, dict) else execution.status
        for execution in run.executions
    )


@pytest.fixture(scope="module")
def one_service(dev_template: EnvironmentTemplate) -> Run:
    # 50 different alarms (so no debounce folds them), all naming the same service
    return storm(dev_template, [(f"orders-api-5xx-{number:02d}", "orders-api") for number in range(ALARMS)], approve=True)


@pytest.fixture(scope="module")
def many_services(dev_template: EnvironmentTemplate) -> Run:
    return storm(dev_template, [(f"api-{number:02d}-5xx", f"api-{number:02d}") for number in range(ALARMS)], approve=True)


@pytest.fixture(scope="module")
def many_services_prod(assembly: Any) -> Run:
    template = load_environment(assembly, "prod")
    return storm(template, [(f"api-{number:02d}-5xx", f"api-{number:02d}") for number in range(ALARMS)], approve=False)


def test_fifty_alarms_at_once_for_one_service_act_on_it_once(one_service: Run) -> None:
    # Given 50 alarms naming one ECS service, firing at once (fixture one_service)
    # When their 50 executions race through the cooldown

    # Then exactly one acted: one deployment, one `taken` decision; each other was refused by the
    # cooldown, recorded, and every one of the 50 events ended (none left running)
    run = one_service
    assert len(run.executions) == ALARMS
    assert run.redeployed == {"orders-api"}, what_happened(run)
    taken = [decision for decision in run.decisions if decision[2] == "taken"]
    assert len(taken) == 1, what_happened(run)
    assert outcomes(run) == ["refused"] * (ALARMS - 1) + ["resolved"], what_happened(run)
    refused = [execution for execution in run.executions if execution.output["outcome"] == "refused"]
    assert {execution.output["guardrail"] for execution in refused} == {"cooldown"}
    assert {arn for arn, _, outcome in run.decisions if outcome == "refused"} == {
        execution.execution_arn for execution in refused
    }


def test_fifty_alarms_at_once_for_fifty_services_act_up_to_the_blast_radius(many_services: Run) -> None:
    # Given 50 alarms, each naming its own ECS service, firing at once (fixture many_services)
    # When their executions race for the automation's 10 action slots

    # Then exactly 10 acted, on 10 different services, each once; the other 40 were refused by the
    # blast radius; every event ended
    run = many_services
    assert len(run.executions) == ALARMS
    assert len(run.redeployed) == BLAST_RADIUS, what_happened(run)
    assert len([decision for decision in run.decisions if decision[2] == "taken"]) == BLAST_RADIUS, what_happened(run)
    assert outcomes(run) == ["refused"] * (ALARMS - BLAST_RADIUS) + ["resolved"] * BLAST_RADIUS, what_happened(run)
    refused = [execution for execution in run.executions if execution.output["outcome"] == "refused"]
    assert {execution.output["guardrail"] for execution in refused} == {"blast_radius"}


def test_no_more_than_the_concurrency_limit_act_at_once(many_services: Run) -> None:
    # Given the 10 executions that passed the blast radius (fixture many_services), 5 concurrency slots
    # When they enter the acting section (Act to Verify) together

    # Then, replaying every write to the limits table in order, never more than 5 held a slot at once,
    # the slots were in use (the section was entered through them), and all were given back
    writes = many_services.limit_writes
    pool = "concurrency#alarm_remediation"
    assert 0 < most_holders(writes, pool) <= CONCURRENCY
    taken = [record for record in writes if record["dynamodb"]["Keys"]["pk"]["S"] == pool and record["eventName"] != "REMOVE"]
    released = [record for record in writes if record["dynamodb"]["Keys"]["pk"]["S"] == pool and record["eventName"] == "REMOVE"]
    assert len({record["dynamodb"]["NewImage"]["holder"]["S"] for record in taken}) == BLAST_RADIUS
    assert len(released) == len(taken)


def test_in_prod_plans_waiting_for_approval_count_against_the_blast_radius(many_services_prod: Run) -> None:
    # Given prod, where a restart waits for a person, and 50 alarms for 50 services at once (fixture)
    # When nobody has answered any approval yet

    # Then 10 plans wait for approval (each holds an action slot) and the other 40 were refused by the
    # blast radius: planned actions count, not only taken ones; nothing was done to any service yet
    run = many_services_prod
    waiting = [execution for execution in run.executions if execution.status == "RUNNING"]
    ended = [execution for execution in run.executions if execution.status == "SUCCEEDED"]
    assert (len(waiting), len(ended)) == (BLAST_RADIUS, ALARMS - BLAST_RADIUS)
    assert {(execution.output["outcome"], execution.output["guardrail"]) for execution in ended} == {("refused", "blast_radius")}
    assert run.redeployed == set()
    blast = [record for record in run.limit_writes if record["dynamodb"]["Keys"]["pk"]["S"] == "blast#alarm_remediation"]
    assert (
        len({record["dynamodb"]["NewImage"]["holder"]["S"] for record in blast if "NewImage" in record["dynamodb"]})
        == BLAST_RADIUS
    )
