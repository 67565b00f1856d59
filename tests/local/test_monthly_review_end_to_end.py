"""monthly_review end to end: platform-team's automations run, the schedule comes round on the 1st of the
next month (virtual time), and the team's review of the month is kept as a decision of monthly_review and
its summary published to platform-oncall's topic."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from keel.local.cloud import LocalCloud
from keel.local.live import LiveClock
from keel.local.review_demo import first_of_next_month
from keel.local.template import EnvironmentTemplate
from keel.ops.session import OpsSession

EVENTS = Path(__file__).resolve().parents[2] / "events"
REVIEW = "monthly_review"


def on_the_first(schedule: LiveClock) -> list[str]:
    """The clock moves to 06:00 on the 1st of the next month, the schedule fires: monthly_review's run."""
    world = schedule.cloud.clock.world_time()
    started = schedule.fire_after(first_of_next_month(world).timestamp() - world)
    return [arn for arn in started if f":execution:keel-dev-{REVIEW}:" in arn]


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
        [run_arn] = on_the_first(schedule)

        # Then monthly_review ran once and reviewed every team that owns automations
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


def test_a_team_whose_review_cannot_be_sent_fails_the_run_once_the_other_teams_reviews_are_done(
    dev_template: EnvironmentTemplate,
) -> None:
    with LocalCloud(dev_template) as cloud:
        # Given support-oncall's topic is gone (deleted by hand, or by a stack of support-team's)
        sns = cloud.client("sns")
        [support] = [
            t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":keel-dev-oncall-support-oncall")
        ]
        sns.delete_topic(TopicArn=support)

        # When the schedule fires on the 1st
        [run_arn] = on_the_first(LiveClock.of_automation(cloud, REVIEW))

        # Then the run fails, naming the team whose review was not kept and sent (the failure pages platform-oncall)
        description, history = cloud.execution_record(run_arn)
        assert (description["status"], description.get("error")) == ("FAILED", "ReviewsNotCompleted"), description.get("cause")
        assert description["cause"].startswith('Monthly review not kept or not sent for ["support-team"]')
        # And the team's own error is in the history: publishing to its route failed
        causes = [event["taskFailedEventDetails"]["cause"] for event in history if "taskFailedEventDetails" in event]
        assert any("support-oncall" in cause for cause in causes), causes
        # And every other team's review was kept and sent, and support-team's kept (its summary is what failed)
        ops = OpsSession(environment="dev", region=cloud.template.region)
        kept = {str(r.decision.resource) for r in ops.decisions.chain(REVIEW)}
        assert {"team/platform-team", "team/security-team", "team/support-team"} <= kept
        sent = {
            page.subject.split(",")[0] for page in cloud.pages() if (page.subject or "").startswith("Keel monthly review of ")
        }
        assert {"Keel monthly review of platform-team", "Keel monthly review of security-team"} <= sent
        assert "Keel monthly review of support-team" not in sent
