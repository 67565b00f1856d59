"""monthly_review end to end: platform-team's automations run, the schedule comes round on the 1st of the
next month (virtual time), and the team's review of the month is kept as a decision of monthly_review and
its summary published to platform-oncall's topic."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from keel.local.cloud import LocalCloud
from keel.local.live import LiveClock
from keel.local.template import EnvironmentTemplate
from keel.ops.session import OpsSession

EVENTS = Path(__file__).resolve().parents[2] / "events"
REVIEW = "monthly_review"


def first_of_next_month(moment: float) -> datetime:
    now = datetime.fromtimestamp(moment, UTC)
    return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, 6, 0, 30, tzinfo=UTC)


def test_the_schedule_writes_keeps_and_sends_each_teams_review_of_the_month(dev_template: EnvironmentTemplate) -> None:
    with LocalCloud(dev_template) as cloud:
        # Given two heartbeats of platform-team's, this month
        for run in range(2):
            event = json.loads((EVENTS / "platform_heartbeat" / "scheduled.json").read_text())
            event["id"] = f"{event['id']}-{run}"
            cloud.deliver(event)
            cloud.drive()
        schedule = LiveClock.of_automation(cloud, REVIEW)
        assert len(schedule.rules) == 1

        # When the clock reaches the 1st of the next month and the schedule fires
        month_start = datetime.fromtimestamp(cloud.clock.world_time(), UTC).replace(day=1, hour=0, minute=0, second=0)
        started = schedule.fire_after(first_of_next_month(cloud.clock.world_time()).timestamp() - cloud.clock.world_time())

        # Then monthly_review ran once and reviewed every team that owns automations
        [run_arn] = [arn for arn in started if f":execution:keel-dev-{REVIEW}:" in arn]
        description, history = cloud.execution_record(run_arn)
        failures = [event["taskFailedEventDetails"]["cause"] for event in history if "taskFailedEventDetails" in event]
        assert description["status"] == "SUCCEEDED", failures
        reviewed = {item["team"]: item for item in json.loads(description["output"])}
        assert {"platform-team", "support-team", "security-team"} <= set(reviewed)
        # And platform-team's review of the month is kept as a decision of monthly_review
        ops = OpsSession(environment="dev", region=cloud.template.region)
        [kept] = [r.decision for r in ops.decisions.chain(REVIEW) if r.decision.resource == "team/platform-team"]
        review = kept.details["review"]
        assert review["start"] == month_start.isoformat(timespec="seconds")
        by_name = {item["automation"]: item for item in review["automations"]}
        assert {"platform_heartbeat", "alarm_remediation", REVIEW} <= set(by_name)
        assert by_name["platform_heartbeat"]["runs"] == 2
        # And its summary was published to platform-oncall's topic, naming the heartbeat's runs
        [page] = [page for page in cloud.pages() if (page.subject or "").startswith("Keel monthly review of platform-team")]
        assert page.topic_arn.endswith(":keel-dev-oncall-platform-oncall")
        assert "- platform_heartbeat: 2 runs" in page.message
        assert list(reviewed["platform-team"]["sent_to"]) == ["platform-oncall"]
        assert list(reviewed["support-team"]["sent_to"]) == ["support-oncall"]
