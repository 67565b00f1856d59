"""`keel new automation` and `keel new module`: the files each writes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import yaml

from infra.config import EnvironmentTable
from infra.function_spec import MODULE_NAME
from infra.manifest import AUTOMATION_NAME
from keel.manifest_schema import MODELINE
from keel.scaffold.writer import Files, ScaffoldError, check_python_name, render

DEFAULT_OWNER = "platform-team"


def new_module(root: Path, module: str, description: str | None = None) -> Files:
    """functions/<module>/ (handler, logic, function.yaml) and its unit test."""
    check_python_name("module", module, MODULE_NAME)
    if (root / "functions" / module).exists():
        raise ScaffoldError(f"functions/{module} already exists; nothing was written")
    # JSON is YAML: the description stays one scalar whatever it contains.
    values = {
        "module": module,
        "description": json.dumps(description or f"{title(module)}: decides what to do about one request."),
    }
    files = Files(root)
    files.add(f"functions/{module}/__init__.py", "")
    handler_imports = [
        "from functions.shared.runtime.clock import utc_now",
        "from functions.shared.runtime.handler import task_handler",
        f"from functions.{module} import logic",
    ]
    test_imports = [
        "from functions.shared.runtime.contract import ValidationError",
        f"from functions.{module}.logic import Dependencies, Task, decide",
    ]
    files.add(
        f"functions/{module}/handler.py", render("module_handler.py.tmpl", values | {"imports": sorted_imports(handler_imports)})
    )
    files.add(f"functions/{module}/logic.py", render("module_logic.py.tmpl", values))
    files.add(f"functions/{module}/function.yaml", render("module_function.yaml.tmpl", values))
    test = render("module_test_logic.py.tmpl", values | {"imports": sorted_imports(test_imports)})
    files.add(f"tests/unit/test_{module}_logic.py", test)
    return files


def sorted_imports(lines: list[str]) -> str:
    """In the order ruff's isort rule wants: by module path (the module's name may sort either side of `shared`)."""
    return "\n".join(sorted(lines, key=lambda line: line.split()[1]))


def new_automation(root: Path, name: str, environments: EnvironmentTable, owner: str | None, oncall: str | None) -> Files:
    """A manifest, its workflow, its deciding module (named after it), sample events and tests."""
    check_python_name("automation", name, AUTOMATION_NAME)
    route = oncall or common_route(environments)
    values = {
        "name": name,
        "module": name,
        "title": title(name),
        "owner": owner or DEFAULT_OWNER,
        "oncall": route,
        "source": f"app.{(owner or DEFAULT_OWNER).removesuffix('-team')}",
        "detail_type": f"{title(name)} Requested",
        # Fixed per name, so a rerun on another machine writes the same files.
        "event_id_planned": str(uuid.uuid5(uuid.NAMESPACE_URL, f"keel:{name}:planned")),
        "event_id_skipped": str(uuid.uuid5(uuid.NAMESPACE_URL, f"keel:{name}:skipped")),
    }
    files = new_module(root, name, description=f"{title(name)}: decides what to do about one request and why.")
    files.add(f"automations/{name}.yaml", render("automation_manifest.yaml.tmpl", values))
    files.add(f"statemachines/{name}.asl.json", render("automation.asl.json.tmpl", values))
    files.add(f"events/{name}/01-planned.json", render("event_planned.json.tmpl", values))
    files.add(f"events/{name}/02-skipped.json", render("event_skipped.json.tmpl", values))
    files.add(f"tests/local/test_{name}_end_to_end.py", render("automation_test_end_to_end.py.tmpl", values))
    return files


def new_automation_like(root: Path, name: str, like: str, owner: str | None, oncall: str | None) -> Files:
    """A new automation running an existing one's workflow and modules (the workflow file is shared,
    not copied), with its governance replaced and its sample events and world copied."""
    check_python_name("automation", name, AUTOMATION_NAME)
    source = root / "automations" / f"{like}.yaml"
    if not source.is_file():
        known = ", ".join(sorted(path.stem for path in (root / "automations").glob("*.yaml")))
        raise ScaffoldError(f"no automation '{like}' to start from (known: {known})")
    manifest: dict[str, Any] = yaml.safe_load(source.read_text())
    if manifest["trigger"].get("event_pattern") is None:
        raise ScaffoldError(
            f"{like} runs on a schedule only: its sample events reach its own schedule rule, not a copy's; "
            "start from `keel new automation` instead"
        )
    manifest |= {"name": name, "version": "0.1.0", "description": f"Like {like}: {manifest['description']}"}
    if owner:
        manifest["owner"] = owner
    if oncall:
        manifest |= {"oncall": oncall, "escalation": oncall, "approvers": [oncall]}
    files = Files(root)
    header = f"{MODELINE}\n# {name}: written by `keel new automation --like {like}`; it shares {like}'s workflow and modules.\n"
    files.add(f"automations/{name}.yaml", header + yaml.safe_dump(manifest, sort_keys=False, width=120))
    for event in sorted((root / "events" / like).glob("*")):
        if event.is_file():
            files.add(f"events/{name}/{event.name}", event.read_text())
    files.add(f"tests/local/test_{name}_end_to_end.py", render("like_test_end_to_end.py.tmpl", {"name": name, "like": like}))
    return files


def common_route(environments: EnvironmentTable) -> str:
    """An on-call route every environment has: the one a new automation starts with."""
    routes = [set(env.oncall_routes) for env in environments.environments.values()]
    common = sorted(set.intersection(*routes)) if routes else []
    if not common:
        raise ScaffoldError("no on-call route is in every environment of config/environments.yaml: pass --oncall")
    return common[0]


def title(name: str) -> str:
    return name.replace("_", " ").title()
