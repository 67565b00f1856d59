"""`keel ops report` end to end in the local cloud: a team's automations, their KPIs from the AWS/States
metrics the local cloud publishes and from the decision record, and the page with the trends as charts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from keel.local.cloud import LocalCloud
from keel.local.template import EnvironmentTemplate
from keel.ops import report
from keel.ops.report_page import TRENDS, write_page
from keel.ops.review import review
from keel.ops.session import OpsInputError, OpsSession

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


@pytest.fixture(scope="module")
def ran(dev_template: EnvironmentTemplate) -> Iterator[tuple[LocalCloud, OpsSession, datetime]]:
    """Two heartbeats and one alarm remediation, platform-team's automations."""
    with LocalCloud(dev_template) as cloud:
        heartbeat, remediation = "platform_heartbeat/scheduled.json", "alarm_remediation/billing-no-runbook.json"
        for event in (heartbeat, heartbeat, remediation):
            body = json.loads((EVENTS / event).read_text())
            body["id"] = f"{body['id']}-{cloud.clock.time()}"
            cloud.deliver(body)
            cloud.drive()
        # Executions run on their own clocks, ahead of the world's: the report looks from after they ended.
        now = datetime.fromtimestamp(cloud.clock.world_time(), UTC) + timedelta(minutes=30)
        yield cloud, OpsSession(environment="dev", region=cloud.template.region), now


def test_report_shows_the_teams_automations_with_their_kpis_and_trends(ran: tuple[LocalCloud, OpsSession, datetime]) -> None:
    _cloud, ops, now = ran
    # When platform-team's report over 7 days is made
    result = report.report(ops, ROOT, "platform-team", "7d", now=now).as_json()
    # Then it lists the team's automations only, with what ran, from the AWS/States metrics
    by_name = {item["automation"]: item for item in result["automations"]}
    assert sorted(by_name) == ["alarm_remediation", "monthly_review", "platform_heartbeat"]
    heartbeat = by_name["platform_heartbeat"]
    assert (heartbeat["runs"], heartbeat["succeeded"], heartbeat["success_rate"]) == (2, 2, 100.0)
    assert heartbeat["p50_s"] is not None
    assert heartbeat["p90_s"] >= heartbeat["p50_s"]
    # And a daily trend with the runs in the last day, and a priced run
    assert len(heartbeat["trend"]) == 7
    assert sum(point["runs"] for point in heartbeat["trend"]) == 2
    assert heartbeat["estimated_cost_per_run_usd"] > 0
    # And the decision record is read: the remediation's run decided no_runbook, no action taken
    assert by_name["alarm_remediation"]["runs"] == 1
    assert by_name["alarm_remediation"]["actions_taken"] == 0
    # And an automation that did not run in the period is listed with no runs
    assert (by_name["monthly_review"]["runs"], by_name["monthly_review"]["success_rate"]) == (0, None)
    assert result["total"]["runs"] == 3


def test_the_page_has_one_chart_per_trend_with_a_point_per_day_for_each_automation(
    ran: tuple[LocalCloud, OpsSession, datetime], tmp_path: Path
) -> None:
    _cloud, ops, now = ran
    # Given the team's report
    result = report.report(ops, ROOT, "platform-team", "7d", now=now)
    # When it is written as a page
    page = write_page(result, tmp_path / "report.html").read_text()
    # Then there is one chart per trend, each naming the team's automations in full with 7 points of runs
    sections = re.findall(r'<section class="trend" data-trend="([a-z_0-9]+)">(.*?)</section>', page, re.S)
    assert [name for name, _ in sections] == [key for key, _ in TRENDS]
    runs_chart = dict(sections)["runs"]
    legends = re.findall(r'class="legend reactive activate-serie">.*?<text [^>]*>([^<]+)</text>', runs_chart, re.S)
    assert sorted(set(legends)) == ["alarm_remediation", "monthly_review", "platform_heartbeat"]
    assert runs_chart.count('class="dot ') == 3 * 7
    # And it loads nothing from elsewhere
    assert not re.search(r'(src|href)="https?://', page)
    assert "<script src" not in page


def test_an_unknown_team_or_period_is_one_line(ran: tuple[LocalCloud, OpsSession, datetime]) -> None:
    _cloud, ops, now = ran
    with pytest.raises(OpsInputError, match="no automation owned by 'nobody' in environment 'dev'"):
        report.report(ops, ROOT, "nobody", "7d", now=now)
    with pytest.raises(OpsInputError, match="--since 'yesterday' must be a duration"):
        report.report(ops, ROOT, "platform-team", "yesterday", now=now)


def test_review_of_one_automation_names_the_runbooks_that_never_fired(ran: tuple[LocalCloud, OpsSession, datetime]) -> None:
    _cloud, ops, now = ran
    # When the remediation's review over 7 days is made
    result = review(ops, ROOT, "alarm_remediation", "7d", now=now)
    # Then it has its KPIs, and every runbook of the catalog never fired (its one run found no runbook)
    [kpis] = result["automations"]
    assert kpis["runs"] == 1
    assert "ecs-5xx-restart" in result["rules_never_fired"]["alarm_remediation"]
    assert result["pages"] == len(result["incidents"])
