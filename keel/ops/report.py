"""`keel ops report [--owner TEAM] [--since 30d]`: KPIs per automation of a team, and the team's total,
as a table, JSON, or a page with the trends as charts (keel/ops/report_page.py).

The figures are computed by functions/shared/domain/kpis.py, as the monthly review computes them; the
team's automations are found by their state machines' keel:owner tag (functions/shared/adapters/kpi_sources.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.ops.session import OpsError, OpsInputError, OpsSession, aws_call

if TYPE_CHECKING:
    from functions.shared.adapters.kpi_sources import KpiSources
    from functions.shared.domain.kpis import AutomationKpis, Period

PRICES = Path("bench") / "prices.json"
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# Columns of the table, in order: (key in the automation's JSON, heading).
COLUMNS = (
    ("automation", "automation"),
    ("runs", "runs"),
    ("success_rate", "success %"),
    ("p50_s", "p50 s"),
    ("p90_s", "p90 s"),
    ("actions_taken", "taken"),
    ("refused", "refused"),
    ("dry_runs", "dry runs"),
    ("approvals_asked", "approvals"),
    ("approval_wait_p50_s", "wait p50 s"),
    ("approval_wait_max_s", "wait max s"),
    ("overrides", "overrides"),
    ("dead_lettered", "DLQ"),
    ("estimated_cost_per_run_usd", "$/run"),
    ("runs_change", "runs Δ%"),
    ("p90_change", "p90 Δ%"),
)


@dataclass(frozen=True)
class Report:
    owner: str | None
    period: Period
    automations: list[AutomationKpis]

    def as_json(self) -> dict[str, Any]:
        from functions.shared.domain.kpis import team_total

        return {
            "owner": self.owner,
            "start": self.period.start.isoformat(timespec="seconds"),
            "end": self.period.end.isoformat(timespec="seconds"),
            "automations": [item.as_json() for item in self.automations],
            "total": team_total(self.automations),
        }


def parse_length(text: str) -> timedelta:
    """--since as a length back from now: 30m, 6h, 30d."""
    if text[-1:] in UNITS and text[:-1].isdigit() and int(text[:-1]) > 0:
        return timedelta(**{UNITS[text[-1]]: int(text[:-1])})
    raise OpsInputError(f"--since '{text}' must be a duration such as 30m, 6h or 30d")


def sources(session: OpsSession) -> KpiSources:
    from functions.shared.adapters.kpi_sources import KpiSources
    from keel.ops.overrides import store

    clients = {name: session.client(name) for name in ("cloudwatch", "stepfunctions", "lambda", "resourcegroupstaggingapi")}
    return KpiSources(session.decisions, session.approvals, store(session), clients)


def report(session: OpsSession, root: Path, owner: str | None, since: str, now: datetime | None = None) -> Report:
    from functions.shared.adapters.kpi_sources import collect
    from functions.shared.domain.kpis import KpiInputError, period_ending

    try:
        period = period_ending(now or datetime.now(UTC), parse_length(since))
    except KpiInputError as error:
        raise OpsInputError(str(error)) from None
    read = sources(session)
    with aws_call(f"find the automations of {owner or 'every team'}"):
        owned = read.owned(session.environment, owner)
    if not owned:
        where = f"in environment '{session.environment}'"
        raise OpsInputError(f"no automation owned by '{owner}' {where}" if owner else f"no automation deployed {where}")
    prices = load_prices(root)
    with aws_call("read the KPIs (CloudWatch metrics, decision record, approvals, overrides, executions)"):
        return Report(owner, period, collect(read, owned, period, prices))


def load_prices(root: Path) -> Any:
    from functions.shared.domain.prices import PriceFileError
    from functions.shared.domain.prices import load_prices as load

    try:
        return load(root / PRICES)
    except PriceFileError as error:
        raise OpsError(f"cannot price runs: {error}") from None


def rows(result: Report) -> list[dict[str, Any]]:
    """One row per automation and the team's total, for the table."""
    listed = []
    for item in result.automations:
        figures = item.as_json()
        figures["overrides"] = len(figures["overrides"])
        figures["runs_change"] = figures["change_percent"]["runs"]
        figures["p90_change"] = figures["change_percent"]["p90_s"]
        cost = figures["estimated_cost_per_run_usd"]
        figures["estimated_cost_per_run_usd"] = None if cost is None else f"{cost:.7f}"
        listed.append({heading: figures[key] for key, heading in COLUMNS})
    total = result.as_json()["total"]
    total_row = {heading: total.get(key) for key, heading in COLUMNS}
    total_row.update({"automation": f"total ({total['automations']})", "p90 s": total["worst_p90_s"], "$/run": None})
    return [*listed, total_row]


def described(result: Report) -> str:
    from keel.render import table

    who = f"team {result.owner}" if result.owner else "every team"
    head = (
        f"{who}, {result.period.start.isoformat(timespec='minutes')} to {result.period.end.isoformat(timespec='minutes')} "
        "(Δ%: against the period before; p90 of the total: the worst automation's)"
    )
    return f"{head}\n{table(rows(result), [heading for _, heading in COLUMNS])}"
