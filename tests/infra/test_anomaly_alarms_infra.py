"""`slo.anomaly` in the synthesized templates: one CloudWatch anomaly detection alarm per listed metric,
with the manifest's band width, period and evaluation periods, paging the owner's on-call topic."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import template_checks as checks
import yaml

from infra.app_builder import ROOT
from infra.catalog import load_catalog
from infra.config import load_environments

ENVIRONMENTS = load_environments(ROOT / "config" / "environments.yaml")
CATALOG = load_catalog(ROOT, ENVIRONMENTS)
ENV_NAMES = sorted(ENVIRONMENTS.environments)
WITH_ANOMALY = sorted(a.name for a in CATALOG.automations if a.manifest.slo.anomaly is not None)


def anomaly_alarms(template: dict[str, Any], env: str, automation: str) -> dict[str, dict[str, Any]]:
    """Alarm name -> properties of the automation's anomaly detection alarms."""
    prefix = f"keel-{env}-{automation}-anomaly-"
    return {
        alarm["AlarmName"]: alarm
        for alarm in (r["Properties"] for r in checks.resources(template, "AWS::CloudWatch::Alarm").values())
        if str(alarm.get("AlarmName", "")).startswith(prefix)
    }


def queries(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {query["Id"]: query for query in alarm["Metrics"]}


def test_the_catalog_turns_it_on_for_a_platform_team_automation() -> None:
    assert "alarm_remediation" in WITH_ANOMALY
    assert next(a for a in CATALOG.automations if a.name == "alarm_remediation").manifest.owner == "platform-team"


@pytest.mark.parametrize("env", ENV_NAMES)
def test_duration_and_failure_rate_bands_page_the_owner(synthesized, env) -> None:
    # Given the environment's template
    template = synthesized.template(env)
    environment = ENVIRONMENTS.get(env)
    for automation in CATALOG.automations:
        manifest = automation.manifest
        alarms = anomaly_alarms(template, env, manifest.name)
        anomaly = manifest.slo.anomaly
        if anomaly is None:
            # Then an automation without slo.anomaly has none
            assert alarms == {}
            continue
        machine = checks.state_machine_id(template, env, manifest.name)
        kinds = {name.rsplit("-anomaly-", 1)[1] for name in alarms}
        # Then each listed metric has its alarm, on the band of the manifest's width, above it pages
        assert kinds == {kind.replace("_", "-") for kind in anomaly.metrics}
        for alarm in alarms.values():
            band = queries(alarm)[alarm["ThresholdMetricId"]]
            assert band["Expression"] == f"ANOMALY_DETECTION_BAND(m0, {anomaly.band_width:g})"
            assert alarm["ComparisonOperator"] == "GreaterThanUpperThreshold"
            assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (anomaly.evaluation_periods,) * 2
            assert alarm["TreatMissingData"] == "notBreaching"
            assert [checks.text(action) for action in alarm["AlarmActions"]] == [checks.topic_arn(environment, manifest.oncall)]
            assert alarm["AlarmDescription"].startswith("Expected: ")
            stats = [query["MetricStat"] for query in alarm["Metrics"] if "MetricStat" in query]
            # on the live state machine's executions (not the shadow candidate's), per the manifest's period
            assert {stat["Period"] for stat in stats} == {anomaly.period_minutes * 60}
            assert all(
                stat["Metric"]["Namespace"] == "AWS/States"
                and stat["Metric"]["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine}}]
                for stat in stats
            )
        duration = alarms.get(f"keel-{env}-{manifest.name}-anomaly-duration")
        if duration is not None:
            assert queries(duration)["m0"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionTime"
            assert queries(duration)["m0"]["MetricStat"]["Stat"] == "Average"
        rate = alarms.get(f"keel-{env}-{manifest.name}-anomaly-failure-rate")
        if rate is not None:
            rate_queries = queries(rate)
            assert rate_queries["m0"]["Expression"] == "100 * FILL(failed, 0) / started"
            assert rate_queries["failed"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionsFailed"
            assert rate_queries["started"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionsStarted"
            assert (rate_queries["failed"]["ReturnData"], rate_queries["started"]["ReturnData"]) == (False, False)


@pytest.fixture(scope="module")
def variant(tmp_path_factory, make_temp_repo) -> dict[str, Any]:
    """alarm_remediation alone, with every slo.anomaly field set unlike the catalog's: dev's template."""
    repo = make_temp_repo(tmp_path_factory.mktemp("anomaly") / "repo")
    for path in (repo.root / "automations").glob("*.yaml"):
        if path.stem != "alarm_remediation":
            path.unlink()
    manifest_path: Path = repo.root / "automations" / "alarm_remediation.yaml"
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest["slo"] = copy.deepcopy(manifest["slo"]) | {
        "anomaly": {"band_width": 3.5, "metrics": ["failure_rate"], "period_minutes": 15, "evaluation_periods": 3}
    }
    repo.write_manifest(manifest)
    template: dict[str, Any] = repo.synthesize(["dev"])["dev"]
    return template


def test_each_anomaly_field_shapes_the_alarm(variant) -> None:
    # Given band_width 3.5, only the failure rate, 15-minute periods, 3 evaluation periods
    alarms = anomaly_alarms(variant, "dev", "alarm_remediation")

    # Then one alarm, on the failure rate, with that band, period and evaluation
    assert list(alarms) == ["keel-dev-alarm_remediation-anomaly-failure-rate"]
    (alarm,) = alarms.values()
    assert queries(alarm)["expr_1"]["Expression"] == "ANOMALY_DETECTION_BAND(m0, 3.5)"
    assert {query["MetricStat"]["Period"] for query in alarm["Metrics"] if "MetricStat" in query} == {900}
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 3)
