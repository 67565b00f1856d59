"""Generated catalogs for the catalog-scale measurements: N automations varied from the real ones.

A scratch repository gets the real functions/, statemachines/ and config/ and N manifests, each a
variant of one of the real automations in turn: its own name, an owning team per ten automations, its
own version, SLO and limits, and an event pattern narrowed to the events of one member account. The ASL files
are the real ones (variants share a workflow, as teams share workflows), so every generated stack is
as large as a real automation's.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

COPIED = ("functions", "statemachines", "config", "schemas")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")
AUTOMATIONS_PER_TEAM = 10


def generate_catalog(root: Path, target: Path, count: int) -> Path:
    """A repository at `target` with `count` automations; returns `target`."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(root / name, target / name, ignore=IGNORED)
    bases = [yaml.safe_load(path.read_text()) for path in sorted((root / "automations").glob("*.yaml"))]
    automations = target / "automations"
    automations.mkdir()
    callers: dict[str, list[str]] = {}
    for index in range(count):
        base = bases[index % len(bases)]
        manifest = variant(base, index)
        (automations / f"{manifest['name']}.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
        callers.setdefault(base["name"], []).append(manifest["name"])
    _let_variants_call_apis(target / "config" / "environments.yaml", callers)
    return target


def _let_variants_call_apis(path: Path, callers: dict[str, list[str]]) -> None:
    """Each external API an automation may call (config `apis.<api>.automations`) lets its variants call
    it too, as a team copying an automation would ask."""
    config = yaml.safe_load(path.read_text())
    for environment in config.get("environments", {}).values():
        for api in (environment or {}).get("apis", {}).values():
            allowed = api.get("automations", [])
            api["automations"] = allowed + [name for base in allowed for name in callers.get(base, [])]
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def variant(base: dict[str, Any], index: int) -> dict[str, Any]:
    """The base manifest as the index-th automation of a generated catalog."""
    manifest = copy.deepcopy(base)
    manifest["name"] = f"{base['name'][:40]}_{index:03d}"
    manifest["owner"] = f"team-{index // AUTOMATIONS_PER_TEAM:02d}"
    manifest["version"] = f"1.{index % 7}.{index % 3}"
    manifest["description"] = f"{base['description']} (generated variant {index})"
    slo = manifest.setdefault("slo", {})
    slo["p90_duration_seconds"] = int(slo.get("p90_duration_seconds", 60)) + index % 5
    limits = manifest.setdefault("limits", {})
    limits["max_actions_per_window"] = 5 + index % 10
    trigger = manifest["trigger"]
    if "event_pattern" in trigger:
        # Each variant listens to its own slice: the base pattern, from an account of its own (events
        # forwarded from an organisation's member accounts, one team's workload each).
        trigger["event_pattern"] = {**trigger["event_pattern"], "account": [f"{200000000000 + index}"]}
    return manifest
