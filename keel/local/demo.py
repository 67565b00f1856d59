"""`keel demo` / `make demo`: each automation's sample events on the local cloud, then failure paths, every
scenario checked against the outcome it declares.

Per automation with sample events in events/<automation>/:
1. its sample events, approval requests approved: each sample ends as events/<automation>/expected.yaml
   says (SUCCEEDED for a sample it does not name);
2. when a sample asked a person for approval in 1: that sample again, the request rejected: asked,
   rejected, and the execution ended;
3. its first function failing every time: the execution fails and an alarm on ExecutionsFailed pages
   the automation's on-call route.
Per automation that calls external APIs (its manifest's `apis`), on the local cloud's fakes:
- its first API answering 429 three times: the workflow waits each Retry-After and ends SUCCEEDED;
- its last API refusing (400): what the first API created is deleted again, and the execution fails.
With ticket_triage and advisor_drift_watch in the catalog: tickets of the generator's new-product-launch
shift through ticket_triage, then the watch's hourly run: the drift is recorded and reaches the bus.
Once, on the automation with the fewest functions:
4. its first sample delivered twice: one run and one duplicate;
5. its first function failing twice: the workflow's Retry absorbs it, SUCCEEDED;
6. StartExecution throttled until EventBridge gives up: the event is dead-lettered, and the alarm on
   its dead-letter queue pages the on-call route.

The demo ends with a table of scenarios, what each expected and what happened; `make demo` exits 1
when any scenario did not do what it claims.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from keel.local.errors import LocalCloudError
from keel.local.eventbridge import EventFile, load_event_file
from keel.local.fake_apis import ApiFault
from keel.local.faults import FaultPlan, FunctionFault
from keel.local.report import ExecutionReport, SentPage
from keel.local.runner import LocalRun, RunOptions, event_files, run_events
from keel.local.template import EnvironmentTemplate
from keel.render import status, table

ALWAYS = 1000
EXPECTED_FILE = "expected.yaml"
END_STATES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
FAILED_EXECUTIONS = "ExecutionsFailed"
QUEUE_DEPTH = "ApproximateNumberOfMessagesVisible"
ANSWERED = {"approve": "approved", "reject": "rejected", "expired": "expired"}


class DemoError(LocalCloudError):
    """A demo declaration that cannot be right (an expected.yaml naming no sample, an unknown status)."""


@dataclass(frozen=True)
class DemoAutomation:
    name: str
    functions: list[str]
    events: list[EventFile]
    waits_for_token: bool
    oncall: str = ""  # the on-call route its alarms page (the manifest's `oncall`)
    expected: dict[str, str] = field(default_factory=dict)  # sample file name -> how it ends
    apis: list[str] = field(default_factory=list)  # the external APIs it calls (the manifest's `apis`)


@dataclass(frozen=True)
class Outcome:
    """What a scenario's run did, in the terms scenarios declare their expectations in."""

    statuses: tuple[str, ...]  # per execution; a duplicate is "SUCCEEDED (duplicate)"
    by_sample: dict[str, tuple[str, ...]]  # sample file name -> the statuses of the executions it started
    retried: int  # attempts beyond the first, over every state of every execution
    dead_letters: int
    answers: tuple[str, ...]  # how the approval requests asked were answered: approve, reject
    alarm_pages: tuple[tuple[str, str], ...]  # (route, metric) of every alarm notification into ALARM
    # (api, method, status) of every request the fake APIs answered, in order
    api_answers: tuple[tuple[str, str, int], ...] = ()

    @staticmethod
    def of(run: LocalRun) -> Outcome:
        executions = {execution.execution_arn: _status(execution) for execution in run.report.executions}
        by_sample = {
            outcome.source.path.name: tuple(executions[d.execution_arn] for d in outcome.deliveries if d.execution_arn)
            for outcome in run.events
        }
        return Outcome(
            statuses=tuple(executions.values()),
            by_sample=by_sample,
            retried=sum(state.retries for execution in run.report.executions for state in execution.states),
            dead_letters=len(run.report.dead_letters),
            answers=tuple(answer.decision for answer in run.answered if answer.approval_id is not None),
            alarm_pages=tuple(page for page in map(_alarm_page, run.report.pages) if page is not None),
            api_answers=tuple((str(r["api"]), str(r["method"]), int(str(r["status"]))) for r in run.api_requests),
        )

    def describe(self) -> str:
        counted = Counter(self.statuses)
        parts = [", ".join(f"{count} {name}" for name, count in counted.items()) or "no execution"]
        if self.retried:
            parts.append(f"{self.retried} retries")
        if self.dead_letters:
            parts.append(f"{self.dead_letters} dead-lettered")
        parts += [_counted(Counter(ANSWERED[answer] for answer in self.answers), "approval")] if self.answers else []
        if self.api_answers:
            answered = Counter(f"{api} {status}" for api, _, status in self.api_answers)
            parts.append("API answers " + ", ".join(f"{what} x{count}" for what, count in sorted(answered.items())))
        for route in sorted({route for route, _ in self.alarm_pages}):
            metrics = Counter(metric for paged, metric in self.alarm_pages if paged == route)
            watched = ", ".join(f"{metric}{f' (x{count})' if count > 1 else ''}" for metric, count in sorted(metrics.items()))
            parts.append(f"alarms paged {route}: {watched}")
        return "; ".join(parts)


def _counted(counted: Counter[str], noun: str) -> str:
    return ", ".join(f"{count} {noun}{'s' if count > 1 else ''} {what}" for what, count in counted.items())


def _status(execution: ExecutionReport) -> str:
    return f"{execution.status} (duplicate)" if execution.duplicate else execution.status


def _alarm_page(page: SentPage) -> tuple[str, str] | None:
    """(route, the metric it watches) when the page is a CloudWatch alarm going into ALARM."""
    try:
        message = json.loads(page.message)
    except json.JSONDecodeError:
        return None
    if not isinstance(message, dict) or message.get("NewStateValue") != "ALARM":
        return None
    trigger = message.get("Trigger", {})
    queries = [query["MetricStat"]["Metric"]["MetricName"] for query in trigger.get("Metrics", []) if "MetricStat" in query]
    return page.route, trigger.get("MetricName") or (queries[0] if queries else "")


@dataclass(frozen=True)
class Expectation:
    text: str
    met: Callable[[Outcome], bool]


def ends_as(expected: dict[str, tuple[str, ...]]) -> Expectation:
    counted = Counter(status for statuses in expected.values() for status in statuses)
    text = ", ".join(f"{count} {name}" for name, count in counted.items())
    return Expectation(text, lambda outcome: outcome.by_sample == expected and outcome.dead_letters == 0)


def rejected() -> Expectation:
    return Expectation(
        "approval asked and rejected; the execution ends",
        lambda outcome: outcome.answers == ("reject",) and bool(outcome.statuses) and set(outcome.statuses) <= set(END_STATES),
    )


def fails_and_pages(route: str) -> Expectation:
    return Expectation(
        f"FAILED; {FAILED_EXECUTIONS} alarm pages {route}",
        lambda outcome: outcome.statuses == ("FAILED",) and (route, FAILED_EXECUTIONS) in outcome.alarm_pages,
    )


def duplicate() -> Expectation:
    return Expectation(
        "1 SUCCEEDED, 1 duplicate", lambda outcome: sorted(outcome.statuses) == ["SUCCEEDED", "SUCCEEDED (duplicate)"]
    )


def retried(times: int) -> Expectation:
    return Expectation(
        f"SUCCEEDED after {times} retries", lambda outcome: outcome.statuses == ("SUCCEEDED",) and outcome.retried >= times
    )


def dead_lettered(route: str) -> Expectation:
    return Expectation(
        f"dead-lettered; DLQ alarm pages {route}",
        lambda outcome: not outcome.statuses and outcome.dead_letters == 1 and (route, QUEUE_DEPTH) in outcome.alarm_pages,
    )


def waited_out(api: str, times: int) -> Expectation:
    return Expectation(
        f"SUCCEEDED after {times} x 429 from {api}, each Retry-After waited",
        lambda outcome: (
            outcome.statuses[:1] == ("SUCCEEDED",)
            and [status for name, _, status in outcome.api_answers if name == api].count(429) == times
        ),
    )


def compensated(first: str, last: str) -> Expectation:
    def met(outcome: Outcome) -> bool:
        answers = list(outcome.api_answers)
        refused = [index for index, (api, _, status) in enumerate(answers) if (api, status) == (last, 400)]
        undone = [index for index, answer in enumerate(answers) if answer == (first, "DELETE", 204)]
        return outcome.statuses[:1] == ("FAILED",) and bool(refused) and bool(undone) and undone[0] > refused[0]

    return Expectation(f"FAILED; what {first} created is deleted after {last} refuses", met)


def api_scenarios(automation: DemoAutomation) -> list[Scenario]:
    """The outside world misbehaving, on the local cloud's fake APIs."""
    first, last, sample = automation.apis[0], automation.apis[-1], automation.events[:1]
    scenarios = [
        Scenario(
            automation.name,
            f"{first} answers 429 three times",
            sample,
            RunOptions(FaultPlan(apis=[ApiFault(first, "429", 3)])),
            waited_out(first, 3),
        )
    ]
    if last != first:
        scenarios.append(
            Scenario(
                automation.name,
                f"{last} refuses (400): compensated",
                sample,
                RunOptions(FaultPlan(apis=[ApiFault(last, "400", 1)])),
                compensated(first, last),
            )
        )
    return scenarios


@dataclass(frozen=True)
class Scenario:
    automation: str
    title: str
    events: list[EventFile]
    options: RunOptions
    expected: Expectation


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    run: LocalRun
    outcome: Outcome

    @property
    def passed(self) -> bool:
        return self.scenario.expected.met(self.outcome)


def samples(automation: DemoAutomation) -> Scenario:
    expected: dict[str, tuple[str, ...]] = {
        event.path.name: (automation.expected.get(event.path.name, "SUCCEEDED"),) for event in automation.events
    }
    options = RunOptions(FaultPlan(), decision="approve")
    return Scenario(automation.name, "sample events", automation.events, options, ends_as(expected))


def approval_rejected(automation: DemoAutomation, asked: EventFile) -> Scenario:
    title = f"{asked.path.name}: approval rejected"
    return Scenario(automation.name, title, [asked], RunOptions(FaultPlan(), decision="reject"), rejected())


def always_fails(automation: DemoAutomation) -> Scenario:
    function = automation.functions[0]
    faults = FaultPlan([FunctionFault(function, "error", ALWAYS)])
    title = f"{function} always fails"
    options = RunOptions(faults, decision="approve")
    return Scenario(automation.name, title, automation.events[:1], options, fails_and_pages(automation.oncall))


def platform_scenarios(automation: DemoAutomation) -> list[Scenario]:
    """What EventBridge and the prologue do for every automation, shown once."""
    first, function = automation.events[:1], automation.functions[0]
    twice = RunOptions(FaultPlan(), decision="approve", duplicate=True)
    return [
        Scenario(automation.name, "delivered twice", first, twice, duplicate()),
        Scenario(
            automation.name,
            f"{function} fails twice with TransientError",
            first,
            RunOptions(FaultPlan([FunctionFault(function, "error", 2)]), decision="approve"),
            retried(2),
        ),
        Scenario(
            automation.name,
            "StartExecution throttled",
            first,
            RunOptions(FaultPlan(failed_starts=ALWAYS)),
            dead_lettered(automation.oncall),
        ),
    ]


def run_scenario(template: EnvironmentTemplate, scenario: Scenario, emit: Callable[[str], None]) -> ScenarioResult:
    run = run_events(template, scenario.events, scenario.options)
    result = ScenarioResult(scenario, run, Outcome.of(run))
    emit("\n".join(scenario_lines(result)) + "\n")
    return result


def run_demo(
    template: EnvironmentTemplate, automations: list[DemoAutomation], emit: Callable[[str], None]
) -> list[ScenarioResult]:
    results: list[ScenarioResult] = []
    demonstrated = [automation for automation in automations if automation.events]
    for automation in automations:
        if not automation.events:
            emit(f"== {automation.name}: no sample events in events/{automation.name}/ (add some to demo it)\n")
            continue
        shown = run_scenario(template, samples(automation), emit)
        results.append(shown)
        asked = _asked_approval(shown.run, automation)
        if asked is not None:
            results.append(run_scenario(template, approval_rejected(automation, asked), emit))
        if automation.functions:
            results.append(run_scenario(template, always_fails(automation), emit))
        if automation.apis:
            results += [run_scenario(template, scenario, emit) for scenario in api_scenarios(automation)]
    for automation in demonstrated:
        if automation.name == "advisor_retraining":
            # Retraining needs reviewed tickets first: its own scenario (keel/local/retraining_demo.py), with
            # the files beside its samples (events/<automation>/ of the repository they come from).
            from keel.local import retraining_demo

            results.append(retraining_demo.run(template, automation.events[0].path.resolve().parents[2], emit))
    candidates = [automation for automation in demonstrated if automation.functions]
    simplest = min(candidates, key=lambda automation: len(automation.functions), default=None)
    if simplest is not None:
        results += [run_scenario(template, scenario, emit) for scenario in platform_scenarios(simplest)]
    results += _on_schedules(template, demonstrated, emit)
    emit(summary(results))
    return results


def _on_schedules(
    template: EnvironmentTemplate, demonstrated: list[DemoAutomation], emit: Callable[[str], None]
) -> list[ScenarioResult]:
    """The scenarios of scheduled automations that need other automations' runs first."""
    by_name = {automation.name: automation for automation in demonstrated}
    results = []
    if {"ticket_triage", "advisor_drift_watch"} <= set(by_name):
        results.append(advisor_drift(template, emit))
    if {"platform_heartbeat", "monthly_review"} <= set(by_name):
        results.append(monthly_review(template, by_name["platform_heartbeat"].events[0].path, emit))
    return results


def advisor_drift(template: EnvironmentTemplate, emit: Callable[[str], None]) -> ScenarioResult:
    """ticket_triage on a shifted ticket mix, then advisor_drift_watch's hourly run (keel/local/drift_demo.py)."""
    from keel.local.drift_demo import run_drift_demo

    shown = run_drift_demo(template)
    signals = [event["detail"]["signal"] for event in shown.seen]
    expected = Expectation(
        "every execution SUCCEEDED; the watch reports the advisor's confidence drift once on the keel bus",
        lambda outcome: set(outcome.statuses) == {"SUCCEEDED"} and outcome.dead_letters == 0 and signals == ["confidence"],
    )
    title = "tickets from the generator's new-product-launch shift"
    sources = [outcome.source for outcome in shown.run.events]
    scenario = Scenario("advisor_drift_watch", title, sources, RunOptions(FaultPlan()), expected)
    return scripted_result(scenario, shown.run, shown.lines, emit)


def monthly_review(template: EnvironmentTemplate, heartbeat: Path, emit: Callable[[str], None]) -> ScenarioResult:
    """platform_heartbeat runs, then monthly_review's schedule on the 1st (keel/local/review_demo.py)."""
    from keel.local.review_demo import run_review_demo

    shown = run_review_demo(template, heartbeat)
    expected = Expectation(
        "every execution SUCCEEDED; platform-team's review is kept and its summary sent to platform-oncall",
        lambda outcome: (
            set(outcome.statuses) == {"SUCCEEDED"}
            and "team/platform-team" in shown.kept
            and any("platform-team" in (page.subject or "") and page.route.endswith("platform-oncall") for page in shown.pages)
        ),
    )
    scenario = Scenario("monthly_review", "the schedule on the 1st of the month", [], RunOptions(FaultPlan()), expected)
    return scripted_result(scenario, shown.run, shown.lines, emit)


def scripted_result(scenario: Scenario, run: LocalRun, told: list[str], emit: Callable[[str], None]) -> ScenarioResult:
    """A scripted scenario's result, printed as every scenario is, with what it told before the verdict."""
    result = ScenarioResult(scenario, run, Outcome.of(run))
    lines = scenario_lines(result)
    emit("\n".join([*lines[:-1], *told, lines[-1]]) + "\n")
    return result


def _asked_approval(run: LocalRun, automation: DemoAutomation) -> EventFile | None:
    """The first sample whose execution asked a person for approval (and was answered through the request)."""
    answered = {answer.execution_arn for answer in run.answered if answer.approval_id is not None}
    for outcome in run.events:
        if any(delivery.execution_arn in answered for delivery in outcome.deliveries):
            return next(event for event in automation.events if event.path == outcome.source.path)
    return None


def scenario_lines(result: ScenarioResult) -> list[str]:
    scenario, run = result.scenario, result.run
    lines = [f"== {scenario.automation}: {scenario.title}", f"   expected: {scenario.expected.text}"]
    names = {d.execution_arn: outcome.source.path.name for outcome in run.events for d in outcome.deliveries if d.execution_arn}
    lines += [f"   {names.get(e.execution_arn, '-')}: {_execution_line(e)}" for e in run.report.executions]
    lines += [f"   dead-lettered: event {letter.event_id} -> {_last(letter.queue_arn)}" for letter in run.report.dead_letters]
    lines += [f"   approval {answer.approval_id}: {ANSWERED[answer.decision]}" for answer in run.answered if answer.approval_id]
    lines += [f"   ALARM {change.alarm}" for change in run.report.alarms if change.new == "ALARM"]
    lines += [f"   PAGE {page.route}: {page.subject or '(no subject)'}" for page in run.report.pages]
    verdict = "as expected" if result.passed else f"NOT as expected: {result.outcome.describe()}"
    lines.append(f"   => {status('ok' if result.passed else 'FAILED')} {verdict}")
    return lines


def _last(arn: str | None) -> str:
    return arn.rsplit(":", 1)[-1] if arn else "no DLQ"


def _execution_line(execution: ExecutionReport) -> str:
    took = "-" if execution.duration_seconds is None else f"{execution.duration_seconds:,.1f} s"
    notes = [f"{state.name} retried {state.retries}x" for state in execution.states if state.status == "retried"]
    notes += [f"caught at {state.name}: {state.errors[-1]['error']}" for state in execution.states if state.status == "caught"]
    detail = f" ({'; '.join(notes)})" if notes else ""
    return f"{status(_status(execution))} in {took}, {len(execution.states)} states{detail}"


def summary(results: list[ScenarioResult]) -> str:
    rows: list[dict[str, Any]] = [
        {
            "scenario": f"{result.scenario.automation}: {result.scenario.title}",
            "expected": result.scenario.expected.text,
            "actual": result.outcome.describe(),
            "result": "ok" if result.passed else "FAILED",
        }
        for result in results
    ]
    passed = sum(result.passed for result in results)
    return "\n".join(["== Summary", table(rows), f"{passed} of {len(results)} scenarios did what they claim"]) + "\n"


def sample_events(root: Path, automation: str) -> list[EventFile]:
    directory = root / "events" / automation
    return [load_event_file(path) for path in event_files([directory])] if directory.is_dir() else []


def expected_endings(root: Path, automation: str, events: list[EventFile]) -> dict[str, str]:
    """events/<automation>/expected.yaml: sample file name -> the status its execution ends with."""
    path = root / "events" / automation / EXPECTED_FILE
    if not path.is_file():
        return {}
    declared: Any = yaml.safe_load(path.read_text()) or {}
    names = {event.path.name for event in events}
    if not isinstance(declared, dict):
        raise DemoError(f"{path}: expected a mapping of sample file names to statuses")
    for name, ending in declared.items():
        if name not in names:
            raise DemoError(f"{path}: {name} is not a sample in {path.parent} (samples: {', '.join(sorted(names))})")
        if ending not in END_STATES:
            raise DemoError(f"{path}: {name}: {ending!r} is not one of {', '.join(END_STATES)}")
    return {str(name): str(ending) for name, ending in declared.items()}
