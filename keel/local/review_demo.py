"""The demo's monthly review scenario: platform-team's heartbeats run, then the clock reaches 06:00 on the
1st of the next month (virtual time) and monthly_review's schedule fires: each team's review of the month
is kept as a decision of monthly_review and its summary published to the team's on-call route."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from keel.local.cloud import LocalCloud, Page
from keel.local.eventbridge import EventFile
from keel.local.live import LiveClock
from keel.local.runner import EventOutcome, LocalRun
from keel.local.template import EnvironmentTemplate
from keel.ops.session import OpsSession

REVIEW = "monthly_review"
HEARTBEATS = 2
SUBJECT = "Keel monthly review of "


@dataclass(frozen=True)
class ReviewDemo:
    run: LocalRun
    # The reviews kept (team: decision reason) and the summaries published.
    kept: dict[str, str]
    pages: list[Page]
    lines: list[str]


def first_of_next_month(moment: float) -> datetime:
    """06:00 UTC on the 1st of the month after `moment`: when cron(0 6 1 * ? *) fires."""
    now = datetime.fromtimestamp(moment, UTC)
    return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, 6, 0, 30, tzinfo=UTC)


def run_review_demo(template: EnvironmentTemplate, heartbeat: Path) -> ReviewDemo:
    lines: list[str] = []
    emit = lines.append
    with LocalCloud(template) as cloud:
        ops = OpsSession(environment=template.environment, region=template.region)
        outcomes = []
        for number in range(HEARTBEATS):
            event = json.loads(heartbeat.read_text()) | {"id": f"demo-review-heartbeat-{number}"}
            outcomes.append(EventOutcome(EventFile(heartbeat, event), "default", cloud.deliver(event), 1))
            cloud.drive()
        schedule = LiveClock.of_automation(cloud, REVIEW, say=emit)
        due = first_of_next_month(cloud.clock.world_time())
        emit(f"   {HEARTBEATS} platform_heartbeat runs, then the clock moves to {due:%Y-%m-%d %H:%M} UTC")
        schedule.fire_after(due.timestamp() - cloud.clock.world_time())
        kept = {}
        for record in ops.decisions.chain(REVIEW):
            kept[str(record.decision.resource)] = record.decision.reason
            emit(f"   {REVIEW} kept (decision {record.seq}): {record.decision.reason}")
        pages = [page for page in cloud.pages() if (page.subject or "").startswith(SUBJECT)]
        for page in pages:
            emit(f"   sent to {page.route}: {page.message.splitlines()[1]}")
        run = LocalRun.of(cloud, outcomes)
        return ReviewDemo(run, kept, pages, lines)
