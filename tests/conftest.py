"""Fixtures shared by every tier.

Fake AWS credentials are set before anything imports boto3 or a handler, so no test can reach a real
account. The real app is synthesized once per session; tests that need a broken or extended catalog
get a temporary copy of the repository instead of touching the real one.
"""

from __future__ import annotations

import copy
import fcntl
import itertools
import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

# Before any import of boto3, Powertools or a handler: nothing may find real credentials.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
}
os.environ.update(FAKE_AWS_ENV)
for _variable in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_variable, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
# Every deployed function gets this namespace (infra/constructs/function.py). Powertools reads it when
# functions.shared.runtime.observability is first imported, which in one test process may be any test: set it
# before all of them, as Lambda does, so no test depends on which one imported the module first.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Keel")

REPO_ROOT = Path(__file__).resolve().parent.parent

# The slowest files, slowest first (seconds on 2 busy cores, with coverage). `make test` runs files
# whole on 2 workers (--dist loadfile) in collection order (--no-loadscope-reorder), and each worker
# takes the next file when it is done: started first, these end while the other worker still has
# short files left, instead of one of them running alone at the end. test_scaffold leads because it
# synthesizes in its own processes, so the other worker can synthesize the session's app meanwhile.
SLOWEST_FIRST = (
    "tests/local/test_scaffold.py",
    "tests/local/test_limits_under_concurrency.py",
    "tests/local/test_external_api_storm.py",
    "tests/local/test_readme_commands.py",
    "tests/local/test_concurrent_executions.py",
    "tests/infra/test_quota_guard.py",
    "tests/local/test_cli.py",
    "tests/local/test_user_onboarding_end_to_end.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of SLOWEST_FIRST first, in that order; every other file after them, as collected."""
    rank = {name: position for position, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


REPO_DIRS = ("automations", "statemachines", "functions", "config", "apis", "schemas")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


# --- The real app, synthesized once -------------------------------------------------------------


@dataclass
class OutsideCalls:
    """AWS API calls and network connections attempted while the guard was on."""

    calls: list[str] = field(default_factory=list)


class Synthesized:
    """The real app's cloud assembly: each environment's stacks, and all of them as one template."""

    def __init__(
        self, outdir: Path, stacks: dict[str, dict[str, dict[str, Any]]], outside_calls: list[str], keel: Any = None
    ) -> None:
        self.outdir = outdir
        # Environment -> stack name -> template.
        self.stacks = stacks
        self.outside_calls = outside_calls
        self._keel = keel

    @property
    def keel(self) -> Any:
        """The app's construct tree (infra.app_builder.KeelApp). A process that read the assembly another
        synthesized builds the same app (no synth: that is the assembly) the first time a test asks."""
        if self._keel is None:
            from infra.app_builder import build_app

            with refusing_outside_calls() as outside:
                self._keel = build_app(outdir=str(self.outdir.parent / f"cdk.out-{os.getpid()}"))
            self.outside_calls += outside.calls
        return self._keel

    @property
    def templates(self) -> dict[str, dict[str, Any]]:
        return {env: merged(stacks) for env, stacks in self.stacks.items()}

    def template(self, environment: str) -> dict[str, Any]:
        """Every stack of the environment as one template (Keel's logical ids are unique per environment)."""
        return merged(self.stacks[environment])


def merged(stacks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The stacks' Resources (and Parameters) in one template, for checks over a whole environment."""
    template: dict[str, Any] = {"Resources": {}, "Parameters": {}}
    for name, stack in stacks.items():
        for section in ("Resources", "Parameters"):
            for logical_id, value in stack.get(section, {}).items():
                earlier = template[section].setdefault(logical_id, value)
                assert earlier == value or section == "Parameters", f"{name}: {section} {logical_id} is also in another stack"
    return template


@contextmanager
def refusing_outside_calls() -> Iterator[OutsideCalls]:
    """While active, any botocore API call or internet socket connection is recorded and refused."""
    import botocore.client

    record = OutsideCalls()

    def refuse_api_call(_client: object, operation: str, _params: object) -> None:
        record.calls.append(f"botocore {operation}")
        raise RuntimeError(f"AWS call {operation} attempted")

    real_connect = socket.socket.connect

    def refuse_connect(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            record.calls.append(f"connect {address}")
            raise OSError(f"network connection to {address} attempted")
        return real_connect(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", refuse_api_call)
        patch.setattr(socket.socket, "connect", refuse_connect)
        yield record


@pytest.fixture
def outside_call_guard() -> Any:
    """The guard the session synth runs under, for tests that prove it works."""
    return refusing_outside_calls


def synthesize(keel: Any, outdir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Synthesize a KeelApp into outdir (the quota guard included): environment -> stack name -> template."""
    from infra.synthesis import synthesize as synthesize_app

    synthesize_app(keel)
    return {
        env: {
            stack.stack_name: json.loads((outdir / f"assembly-{env}" / stack.template_file).read_text()) for stack in stacks.all()
        }
        for env, stacks in keel.environments.items()
    }


def shared_tmp(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's temporary root, the same for every xdist worker (each has its own basetemp under it).
    Asked of the config, not of PYTEST_XDIST_WORKER: a pytest a test starts inherits that variable."""
    basetemp = tmp_path_factory.getbasetemp()
    return basetemp.parent if hasattr(config, "workerinput") else basetemp


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Held by one process of the session at a time (an advisory lock, released if the process dies)."""
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def synthesized_once(shared: Path) -> Synthesized:
    """The real app synthesized by the first process of the session to ask, read by the others.

    Synth takes 10-20 s; each xdist worker used to pay it. The first process synthesizes with AWS
    unreachable and writes what it found (stack templates, outside calls) beside the assembly; the rest
    wait for it and read the same assembly, which no test writes to."""
    outdir, record = shared / "synthesized" / "cdk.out", shared / "synthesized" / "synthesized.json"
    outdir.parent.mkdir(exist_ok=True)
    with exclusive(shared / "synthesized.lock"):
        if record.is_file():
            found = json.loads(record.read_text())
            stacks = {
                env: {name: json.loads((outdir / path).read_text()) for name, path in files.items()}
                for env, files in found["stacks"].items()
            }
            return Synthesized(outdir=outdir, stacks=stacks, outside_calls=found["outside_calls"])
        from infra.app_builder import build_app

        with refusing_outside_calls() as outside:
            keel = build_app(outdir=str(outdir))
            stacks = synthesize(keel, outdir)
        files = {
            env: {stack.stack_name: f"assembly-{env}/{stack.template_file}" for stack in environment.all()}
            for env, environment in keel.environments.items()
        }
        record.write_text(json.dumps({"stacks": files, "outside_calls": outside.calls}))
        return Synthesized(outdir=outdir, stacks=stacks, outside_calls=outside.calls, keel=keel)


@pytest.fixture(scope="session")
def synthesized(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The real repository's app (every environment), synthesized once per test session with AWS unreachable."""
    return synthesized_once(shared_tmp(request.config, tmp_path_factory))


# --- A temporary repository for catalogs the real one must never contain --------------------------


VALID_MANIFEST: dict[str, Any] = {
    "name": "sample_automation",
    "description": "A test automation that reuses the heartbeat function.",
    "version": "1.0.0",
    "owner": "platform-team",
    "oncall": "platform-oncall",
    "escalation": "platform-oncall",
    "approvers": ["platform-oncall"],
    "data_classification": "internal",
    "trigger": {"bus": "keel", "event_pattern": {"source": ["keel.test"], "detail-type": ["Sample Happened"]}},
    "workflow": {"definition": "sample_automation.asl.json", "type": "standard", "timeout_seconds": 120},
    "functions": ["emit_heartbeat"],
    "slo": {"success_rate_percent": 99.0, "p90_duration_seconds": 30},
}

VALID_ASL: dict[str, Any] = {
    "Comment": "A one-task workflow through the shared heartbeat function.",
    "StartAt": "Beat",
    "States": {
        "Beat": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${emit_heartbeat}", "Payload.$": "$"},
            "End": True,
        }
    },
}


class TempRepo:
    """A copy of automations/, statemachines/, functions/ and config/ under a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in REPO_DIRS:
            shutil.copytree(REPO_ROOT / name, root / name, ignore=IGNORED)

    @staticmethod
    def manifest_data(**changes: Any) -> dict[str, Any]:
        """A valid manifest (a fresh copy), with top-level keys replaced by `changes`."""
        data = copy.deepcopy(VALID_MANIFEST)
        data.update(changes)
        return data

    @staticmethod
    def asl_data() -> dict[str, Any]:
        return copy.deepcopy(VALID_ASL)

    def write_manifest(self, data: dict[str, Any] | str, file_name: str | None = None) -> Path:
        if file_name is None:
            assert isinstance(data, dict)
            file_name = f"{data['name']}.yaml"
        path = self.root / "automations" / file_name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path

    def write_asl(self, file_name: str, definition: dict[str, Any] | str) -> Path:
        path = self.root / "statemachines" / file_name
        path.write_text(definition if isinstance(definition, str) else json.dumps(definition, indent=2))
        return path

    def add_automation(self, manifest: dict[str, Any] | None = None, asl: dict[str, Any] | str | None = None) -> Path:
        """A manifest and its ASL file; returns the manifest's path."""
        manifest = manifest or self.manifest_data()
        self.write_asl(manifest["workflow"]["definition"], self.asl_data() if asl is None else asl)
        return self.write_manifest(manifest)

    @property
    def environments_path(self) -> Path:
        return self.root / "config" / "environments.yaml"

    def environments_data(self) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load(self.environments_path.read_text())
        return data

    def write_environments(self, data: dict[str, Any]) -> Path:
        self.environments_path.write_text(yaml.safe_dump(data, sort_keys=False))
        return self.environments_path

    def unused_name(self, section: str, stem: str) -> str:
        """A name that no environment has under `section` (oncall_routes, secrets): `stem`, or `stem-2`,
        `stem-3`, ... once the catalog has grown to use it, so a test's "unknown" name stays unknown."""
        taken = {name for env in self.environments_data()["environments"].values() for name in env.get(section) or {}}
        candidates = itertools.chain([stem], (f"{stem}-{number}" for number in itertools.count(2)))
        return next(candidate for candidate in candidates if candidate not in taken)

    def load_environments(self) -> Any:
        from infra.config import load_environments

        return load_environments(self.environments_path)

    def load_catalog(self) -> Any:
        from infra.catalog import load_catalog

        return load_catalog(self.root, self.load_environments())

    @property
    def outdir(self) -> Path:
        return self.root / "cdk.out"

    def build_app(self, environments: list[str] | None = None) -> Any:
        """build_app on this repository, optionally for some environments only (each costs seconds of synth)."""
        from infra.app_builder import build_app
        from infra.config import EnvironmentTable

        table = self.load_environments()
        if environments is not None:
            table = EnvironmentTable(environments={name: table.get(name) for name in environments})
        return build_app(root=self.root, outdir=str(self.outdir), environments=table)

    def synthesize(self, environments: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Each environment's stacks as one template."""
        return {env: merged(stacks) for env, stacks in self.synthesize_stacks(environments).items()}

    def synthesize_stacks(self, environments: list[str] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        """Environment -> stack name -> template."""
        return synthesize(self.build_app(environments), self.outdir)


@pytest.fixture
def temp_repo(tmp_path: Path) -> TempRepo:
    return TempRepo(tmp_path / "repo")


@pytest.fixture(scope="session")
def make_temp_repo() -> type[TempRepo]:
    """For module-scoped fixtures that build one temporary repository for several tests."""
    return TempRepo
