"""The monthly review of each team's automations (functions/shared/domain/review.py), written on the 1st of
the month for the calendar month before.

One run has two kinds of task: without a team, the teams that own automations in the environment (one
GetResources call on the state machines' tags) with their on-call routes; with a team, that team's review:
read, kept as a decision record of monthly_review (retained, hash-chained and anchored like every decision,
and read back with `keel ops decisions`), then summarized to the team's on-call route. The workflow runs
one team per Map iteration, so a run's length grows with the number of teams, not with one Lambda's budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from functions.shared.adapters.kpi_sources import Owned
from functions.shared.domain.context import TaskInput
from functions.shared.domain.decisions import Recorder, decision_in, digest
from functions.shared.domain.kpis import AutomationKpis, Period
from functions.shared.domain.review import AlarmChange, Review, described
from functions.shared.runtime.clock import Clock
from functions.shared.runtime.contract import Field
from functions.shared.runtime.errors import InvalidInputError


class ReviewInput(TaskInput):
    step: str = Field(min_length=1)
    # None: list the teams to review; a team's name: write its review.
    team: str | None = None
    # The schedule's event time (ISO 8601): every team of a run reviews the month before it, even when
    # the run goes on past a month's end. None: the month before now.
    scheduled_at: str | None = Field(default=None, min_length=20, max_length=40)


class Reads(Protocol):
    """What the review reads besides the KPIs (functions/shared/adapters/kpi_sources.py KpiSources)."""

    def owned(self, environment: str, owner: str | None) -> list[Owned]: ...

    def alarm_changes(self, owned: Sequence[Owned], period: Period) -> list[AlarmChange]: ...


class Publisher(Protocol):
    def publish(self, route: str, subject: str, message: str) -> str: ...


@dataclass(frozen=True)
class Dependencies:
    reads: Reads
    # The KPIs of some automations over a period (kpi_sources.collect with the published prices).
    kpis: Callable[[Sequence[Owned], Period], list[AutomationKpis]]
    log: Recorder
    notifier: Publisher
    clock: Clock
    environment: str
    code_version: str


def _scheduled(at: str | None) -> datetime | None:
    if at is None:
        return None
    try:
        moment = datetime.fromisoformat(at)
    except ValueError as error:
        raise InvalidInputError(f"scheduled_at: '{at}' is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise InvalidInputError(f"scheduled_at: '{at}' has no time zone")
    return moment


def previous_month(now: datetime) -> Period:
    """The calendar month before the one `now` is in, in UTC."""
    now = now.astimezone(UTC)
    end = datetime(now.year, now.month, 1, tzinfo=UTC)
    start = datetime(end.year - 1, 12, 1, tzinfo=UTC) if end.month == 1 else datetime(end.year, end.month - 1, 1, tzinfo=UTC)
    return Period(start, end)


def run(task: ReviewInput, deps: Dependencies) -> dict[str, Any]:
    return teams(deps) if task.team is None else review(task, task.team, deps)


def teams(deps: Dependencies) -> dict[str, Any]:
    """Each team owning automations in the environment, with the routes its automations page."""
    routes: dict[str, set[str]] = {}
    for item in deps.reads.owned(deps.environment, None):
        if item.owner:
            routes.setdefault(item.owner, set()).update({item.oncall} if item.oncall else set())
    return {"teams": [{"team": team, "routes": sorted(routes[team])} for team in sorted(routes)]}


def review(task: ReviewInput, team: str, deps: Dependencies) -> dict[str, Any]:
    period = previous_month(_scheduled(task.scheduled_at) or deps.clock())
    owned = deps.reads.owned(deps.environment, team)
    if not owned:
        raise InvalidInputError(f"team: no automation owned by '{team}' in environment '{deps.environment}'")
    # The rule catalogs live beside the modules that decide by them, not in this function's package:
    # "not known here" (None), as the review allows; `keel ops review` reads them from the repository.
    written = Review(
        team, period, deps.kpis(owned, period), deps.reads.alarm_changes(owned, period), {item.automation: None for item in owned}
    ).as_json()
    routes = sorted({item.oncall for item in owned if item.oncall})
    summary = described(written)
    deps.log.record(_decision(task, team, written, routes, deps.code_version))
    subject = f"Keel monthly review of {team}, {period.start:%B %Y}"
    sent = {route: deps.notifier.publish(route, subject, "\n".join(summary)) for route in routes}
    return {"team": team, "start": written["start"], "end": written["end"], "summary": summary[1], "sent_to": sent}


def _decision(task: ReviewInput, team: str, written: dict[str, Any], routes: list[str], code_version: str) -> Any:
    total = written["total"]
    return decision_in(
        task,
        # One decision per team and run: the writer's step marker makes a retried iteration record it once.
        step=f"{task.step} {team}",
        action="write_monthly_review",
        outcome="taken",
        reason=f"monthly review of {team}, {written['start']} to {written['end']}: {total['automations']} automations, "
        f"{total['runs']} runs, {written['pages']} pages",
        resource=f"team/{team}",
        trigger="monthly schedule",
        input_digest=digest(written),
        code_version=code_version,
        details={"review": written, "sent_to": routes},
    )
