"""Does the test suite survive the catalog growing? Run it on a copy of the repository that a new team
has extended the way the README says.

    make growth-check                       # or: .venv/bin/python scripts/growth_check.py [--keep] [-- PYTEST ARGS]

The copy holds the repository's tracked files and working changes (not .venv, node_modules or
cdk.out), plus tests/fixtures/growth/: a new automation with its ASL file, a new function module, its
sample event and a test of its own, and, in every environment of config/environments.yaml, the new
team's on-call route and the secret the automation reads. Then the whole suite runs there; the exit
status is pytest's, so any test that asserts today's exact catalog fails the check.

The copy gets a virtual environment of its own, a few kilobytes that reuse the repository's installed
packages: the repository's venv would import the repository's code (its editable install points
there), also in the subprocesses tests start with a clean environment (`keel` as a person pastes it).
Before the suite runs, the check proves that a bare interpreter of the copy imports the copy.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "growth"
# The fixture's parts that land in the copy at the same relative path; environments.yaml is merged.
FIXTURE_TREES = ("automations", "statemachines", "functions", "events", "tests")
ENVIRONMENT_ADDITIONS = "environments.yaml"
# Never copied: built or installed here, and the copy gets its own.
NOT_COPIED = (".venv", "node_modules", "cdk.out", ".keel")
PACKAGES = ("infra", "functions", "keel")


class GrowthError(Exception):
    """The growth could not be applied as written (a name the repository already has, a missing file)."""


def repository_files(root: Path) -> list[Path]:
    """Tracked files and untracked ones git does not ignore, as they are in the working tree."""
    # git from PATH, as `make` finds it; every argument is ours
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run(command, cwd=root, capture_output=True, check=True).stdout.decode()  # noqa: S603
    files = []
    for name in sorted(set(filter(None, listed.split("\0")))):
        path = Path(name)
        # A tracked file deleted in the working tree is a working change too: it stays out.
        if path.parts[0] not in NOT_COPIED and (root / path).is_file():
            files.append(path)
    return files


def copy_repository(root: Path, destination: Path) -> None:
    for relative in repository_files(root):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target, follow_symlinks=False)


def add_fixture_files(fixture: Path, destination: Path) -> list[Path]:
    """The new automation's files, each where the README puts it; none may replace one of the repository's."""
    added = []
    for tree in FIXTURE_TREES:
        for source in sorted((fixture / tree).rglob("*")):
            if not source.is_file() or "__pycache__" in source.parts:
                continue
            relative = source.relative_to(fixture)
            target = destination / relative
            if target.exists():
                raise GrowthError(f"{relative} is already in the repository: rename it in {fixture}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            added.append(relative)
    return added


def grow_environments(table: dict[str, Any], additions: dict[str, Any]) -> dict[str, Any]:
    """The environment table with the additions' on-call routes and secrets in every environment."""
    grown = copy.deepcopy(table)
    for name, environment in grown["environments"].items():
        for section in ("oncall_routes", "secrets"):
            entries = environment.get(section) or {}
            for key, value in additions.get(section, {}).items():
                if key in entries:
                    raise GrowthError(f"environment '{name}' already has {section} '{key}': the growth must add new names")
                entries[key] = _with_environment(value, name)
            environment[section] = entries
    return grown


def _with_environment(value: Any, environment: str) -> Any:
    if isinstance(value, str):
        return value.replace("{env}", environment)
    if isinstance(value, dict):
        return {key: _with_environment(item, environment) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_environment(item, environment) for item in value]
    return value


def apply_growth(fixture: Path, destination: Path) -> list[Path]:
    added = add_fixture_files(fixture, destination)
    config = destination / "config" / "environments.yaml"
    additions = yaml.safe_load((fixture / ENVIRONMENT_ADDITIONS).read_text())
    grown = grow_environments(yaml.safe_load(config.read_text()), additions)
    config.write_text(yaml.safe_dump(grown, sort_keys=False))
    return [*added, Path("config/environments.yaml")]


# The overlay's own .pth; .pth files are processed in name order: this one first, so the others
# (copied from the reused packages) find their modules.
OVERLAY_PTH = "00-keel-growth.pth"


def site_packages(venv: Path) -> Path:
    [found] = venv.glob("lib/python*/site-packages")
    return found


def installed_packages(venv: Path) -> Path:
    """Where a venv's packages are installed: its site-packages, or the ones an overlay reuses (the
    growth check's own tests run inside a grown copy, and overlay its venv)."""
    packages = site_packages(venv)
    overlay = packages / OVERLAY_PTH
    return Path(overlay.read_text().splitlines()[-1]) if overlay.is_file() else packages


def overlay_venv(source: Path, destination: Path, code: Path) -> Path:
    """A venv at destination that imports `code` first, then the packages installed in `source`.

    The source's editable install (its __editable__ .pth) is left out: it would put the source's
    checkout on the path. Its console scripts are copied with their interpreter line pointing here,
    so `keel`, `pytest` and `aws` run the copy's code whatever environment they are started with.
    """
    base = _base_interpreter(source)
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(destination)], check=True)  # noqa: S603
    packages = site_packages(destination)
    installed = installed_packages(source)
    (packages / OVERLAY_PTH).write_text(f"{code}\n{installed}\n")
    for pth in installed.glob("*.pth"):
        if not pth.name.startswith("__editable__"):
            shutil.copy2(pth, packages / pth.name)
    interpreter_line = f"#!{source / 'bin' / 'python'}"
    for script in sorted((source / "bin").iterdir()):
        target = destination / "bin" / script.name
        if target.exists() or target.is_symlink() or not script.is_file():
            continue
        if _first_line(script) == interpreter_line:
            text = script.read_text()
            target.write_text(f"#!{destination / 'bin' / 'python'}" + text[len(interpreter_line) :])
            target.chmod(script.stat().st_mode)
        else:
            target.symlink_to(script)
    return destination


def _base_interpreter(venv: Path) -> Path:
    config = dict(line.split(" = ", 1) for line in (venv / "pyvenv.cfg").read_text().splitlines() if " = " in line)
    executable = config.get("executable") or str(Path(config["home"]) / "python3")
    return Path(executable)


def _first_line(path: Path) -> str:
    with path.open("rb") as stream:
        return stream.readline(4096).decode(errors="replace").rstrip("\n")


# Run by the copy's bare interpreter: where each package comes from, and which automations its catalog holds.
PROBE = """
import json, infra, functions, keel
from infra.app_builder import ROOT
from infra.catalog import load_catalog
from infra.config import load_environments
catalog = load_catalog(ROOT, load_environments(ROOT / "config" / "environments.yaml"))
print(json.dumps({"packages": [infra.__file__, functions.__file__, keel.__file__], "root": str(ROOT),
                  "automations": [automation.name for automation in catalog.automations]}))
"""


def check_imports(destination: Path, fixture: Path) -> None:
    """A clean environment's interpreter of the copy imports the copy, and sees the new automation."""
    import json

    python = destination / ".venv" / "bin" / "python"
    command = [str(python), "-c", PROBE]
    probe = subprocess.run(command, cwd="/", env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False)  # noqa: S603
    if probe.returncode != 0:
        raise GrowthError(f"the copy's interpreter cannot load its catalog:\n{probe.stderr}")
    found = json.loads(probe.stdout)
    outside = [path for path in [*found["packages"], found["root"]] if not Path(path).is_relative_to(destination)]
    if outside:
        raise GrowthError(f"the copy's interpreter imports code from outside the copy: {', '.join(outside)}")
    missing = sorted({path.stem for path in (fixture / "automations").glob("*.yaml")} - set(found["automations"]))
    if missing:
        raise GrowthError(f"the copy's catalog lacks the growth's automations: {', '.join(missing)}")


def run_suite(destination: Path, pytest_args: Sequence[str]) -> int:
    venv = destination / ".venv"
    environment = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONHOME")}
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '/usr/bin:/bin')}"
    environment["PYTHONPATH"] = str(destination)
    command = [str(venv / "bin" / "python"), "-m", "pytest", "--rootdir", str(destination), *pytest_args]
    return subprocess.run(command, cwd=destination, env=environment, check=False).returncode  # noqa: S603


def grown_copy(root: Path, destination: Path, fixture: Path) -> list[Path]:
    """The repository copied to destination, grown, with its venv; returns what the growth added."""
    copy_repository(root, destination)
    added = apply_growth(fixture, destination)
    overlay_venv(root / ".venv", destination / ".venv", destination)
    # Dry runs of `make` in the copy (the README's make lines) see the venv as installed.
    (destination / ".venv" / ".installed").touch()
    if (root / "node_modules").is_dir():
        (destination / "node_modules").symlink_to(root / "node_modules")
    check_imports(destination, fixture)
    return added


DEFAULT_PYTEST_ARGS = ("-n", "auto", "--dist", "loadfile", "--no-loadscope-reorder", "--no-cov", "-p", "no:cacheprovider")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--keep", action="store_true", help="keep the grown copy (its path is printed)")
    parser.add_argument("pytest_args", nargs="*", help=f"after --: pytest's arguments (default: {' '.join(DEFAULT_PYTEST_ARGS)})")
    args = parser.parse_args(argv)
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="keel-growth-"))
    destination = scratch / "repo"
    try:
        added = grown_copy(ROOT, destination, FIXTURE)
        print(f"growth-check: {destination} grown by {', '.join(str(path) for path in added)}", flush=True)
        code = run_suite(destination, args.pytest_args or DEFAULT_PYTEST_ARGS)
    except GrowthError as error:
        print(f"growth-check: {error}", file=sys.stderr)
        code = 2
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    verdict = "the suite passes with the catalog grown" if code == 0 else "FAILED: a test does not survive the catalog growing"
    print(f"growth-check: {verdict} ({time.monotonic() - started:.0f} s)", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
