"""The automations to measure, from the catalog: sample events, memory, first function, express or not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.asl import waits_for_task_token
from infra.catalog import Automation, load_catalog
from infra.config import load_environments
from keel.bench.local_runs import BenchAutomation
from keel.local.demo import sample_events

EXPRESS_MAX_SECONDS = 300


def first_function(definition: dict[str, Any], modules: list[str]) -> str | None:
    """The first Lambda module the workflow runs, following Next from StartAt (then any, in order)."""
    states: dict[str, Any] = definition.get("States", {})
    name, seen = definition.get("StartAt"), set()
    while isinstance(name, str) and name in states and name not in seen:
        seen.add(name)
        module = _module_of_state(states[name], modules)
        if module is not None:
            return module
        name = states[name].get("Next") or states[name].get("Default")
    return modules[0] if modules else None


def _module_of_state(state: dict[str, Any], modules: list[str]) -> str | None:
    function = state.get("Parameters", {}).get("FunctionName") if state.get("Type") == "Task" else None
    return next((module for module in modules if function == f"${{{module}}}"), None)


def express_eligibility(definition: dict[str, Any], timeout_seconds: int) -> tuple[bool, str]:
    tokens = waits_for_task_token(definition)
    if tokens:
        return False, f"waits for a task token ({', '.join(tokens)})"
    if timeout_seconds > EXPRESS_MAX_SECONDS:
        return False, f"timeout {timeout_seconds} s > {EXPRESS_MAX_SECONDS} s"
    return True, "allowed"


def bench_automation(root: Path, automation: Automation, memory_mb: dict[str, int]) -> BenchAutomation:
    modules = list(automation.manifest.functions)
    allowed, reason = express_eligibility(automation.definition, automation.manifest.workflow.timeout_seconds)
    return BenchAutomation(
        name=automation.name,
        events=[source.event for source in sample_events(root, automation.name)],
        memory_mb={module: memory_mb[module] for module in modules},
        first_function=first_function(automation.definition, modules),
        express_allowed=allowed,
        express_reason=reason,
    )


def load_bench_automations(root: Path) -> list[BenchAutomation]:
    catalog = load_catalog(root, load_environments(root / "config" / "environments.yaml"))
    memory = {module: spec.memory_mb for module, spec in catalog.functions.items()}
    return [bench_automation(root, automation, memory) for automation in catalog.automations]
