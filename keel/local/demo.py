"""`keel demo` / `make demo`: every automation's sample events on the local cloud, then failure paths.

For each automation in the catalog, with the sample events in events/<automation>/:
1. every sample event as is (task tokens approved);
2. its first sample delivered twice: the prologue's claim turns the second run into a duplicate;
3. its first function failing twice with TransientError: the workflow's Retry absorbs it;
4. its first function failing every time: retries run out and the execution fails (or its Catch runs);
5. StartExecution throttled until EventBridge gives up: the event lands in the rule's DLQ;
6. when the workflow waits for a task token: the same sample with the approval rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from keel.local.eventbridge import EventFile, load_event_file
from keel.local.faults import FaultPlan, FunctionFault
from keel.local.render import as_text, executions_table
from keel.local.report import ExecutionReport
from keel.local.runner import LocalRun, RunOptions, event_files, run_events
from keel.local.template import EnvironmentTemplate

ALWAYS = 1000


@dataclass(frozen=True)
class DemoAutomation:
    name: str
    functions: list[str]
    events: list[EventFile]
    waits_for_token: bool


@dataclass(frozen=True)
class Scenario:
    title: str
    events: list[EventFile]
    options: RunOptions


def scenarios(automation: DemoAutomation) -> list[Scenario]:
    first = automation.events[:1]
    found = [
        Scenario(
            f"{automation.name}: sample events", automation.events, RunOptions(FaultPlan(), decision="approve", explain=True)
        ),
        Scenario(f"{automation.name}: duplicate delivery", first, RunOptions(FaultPlan(), decision="approve", duplicate=True)),
    ]
    if automation.functions:
        function = automation.functions[0]
        found += [
            Scenario(
                f"{automation.name}: {function} fails twice with TransientError (retried)",
                first,
                RunOptions(FaultPlan([FunctionFault(function, "error", 2)]), decision="approve"),
            ),
            Scenario(
                f"{automation.name}: {function} always fails with TransientError (retries exhausted)",
                first,
                RunOptions(FaultPlan([FunctionFault(function, "error", ALWAYS)]), decision="approve"),
            ),
        ]
    found.append(
        Scenario(
            f"{automation.name}: StartExecution throttled (event dead-lettered)",
            first,
            RunOptions(FaultPlan(failed_starts=ALWAYS)),
        )
    )
    if automation.waits_for_token:
        found.append(Scenario(f"{automation.name}: approval rejected", first, RunOptions(FaultPlan(), decision="reject")))
    return found


def run_demo(
    template: EnvironmentTemplate, automations: list[DemoAutomation], emit: Callable[[str], None]
) -> list[tuple[str, LocalRun]]:
    runs = []
    for automation in automations:
        if not automation.events:
            emit(f"== {automation.name}: no sample events in events/{automation.name}/ (add some to demo it)\n")
            continue
        for scenario in scenarios(automation):
            run = run_events(template, scenario.events, scenario.options)
            emit(as_text(run, title=scenario.title) + "\n")
            runs.append((scenario.title, run))
    emit(summary(runs))
    return runs


def summary(runs: list[tuple[str, LocalRun]]) -> str:
    executions: list[ExecutionReport] = [execution for _, run in runs for execution in run.report.executions]
    scenarios = [title.split(": ", 1)[-1] for title, run in runs for _ in run.report.executions]
    letters = [
        f"  {title}: event {letter.event_id} -> {letter.queue_arn}" for title, run in runs for letter in run.report.dead_letters
    ]
    lines = ["== Summary: every execution of the demo", *executions_table(executions, scenarios)]
    lines += [f"Dead-lettered events: {len(letters)}", *letters]
    return "\n".join(lines) + "\n"


def sample_events(root: Path, automation: str) -> list[EventFile]:
    directory = root / "events" / automation
    return [load_event_file(path) for path in event_files([directory])] if directory.is_dir() else []
