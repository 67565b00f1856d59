"""scripts/growth_check.py: what it copies, how it grows the copy, and that the copy imports its own code."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def growth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("growth_check", ROOT / "scripts" / "growth_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(repo: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *arguments], cwd=repo, check=True, capture_output=True
    )


def test_the_copy_is_the_working_tree_without_what_is_installed_or_ignored(growth, tmp_path) -> None:
    # Given a repository with a committed file changed, one deleted, one new, one ignored, and a venv
    repo = tmp_path / "repo"
    (repo / "automations").mkdir(parents=True)
    (repo / "automations" / "kept.yaml").write_text("committed\n")
    (repo / "automations" / "deleted.yaml").write_text("committed\n")
    (repo / ".gitignore").write_text("cdk.out/\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "start")
    (repo / "automations" / "kept.yaml").write_text("changed\n")
    (repo / "automations" / "deleted.yaml").unlink()
    (repo / "automations" / "new.yaml").write_text("new\n")
    (repo / "cdk.out").mkdir()
    (repo / "cdk.out" / "manifest.json").write_text("{}")
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "bin" / "python").write_text("")

    # When it is copied
    copy = tmp_path / "copy"
    growth.copy_repository(repo, copy)

    # Then the copy holds the working tree's tracked and new files, as they are now, and nothing else
    files = sorted(str(path.relative_to(copy)) for path in copy.rglob("*") if path.is_file())
    assert files == [".gitignore", "automations/kept.yaml", "automations/new.yaml"]
    assert (copy / "automations" / "kept.yaml").read_text() == "changed\n"


def test_every_environment_gets_the_route_and_the_secret(growth) -> None:
    # Given a table with two environments, one with a secret already
    table = {
        "environments": {
            "dev": {"oncall_routes": {"platform-oncall": {}}, "secrets": {}},
            "prod": {"oncall_routes": {"platform-oncall": {}}, "secrets": {"github-token": {"description": "x"}}},
        }
    }
    additions = {
        "oncall_routes": {"api-oncall": {"subscriptions": [{"protocol": "email", "endpoint": "api-{env}@example.com"}]}},
        "secrets": {"chat-webhook-key": {"description": "signs"}},
    }

    # When the growth is applied
    grown = growth.grow_environments(table, additions)

    # Then each environment keeps what it had and gains both, the endpoint named for it
    for env in ("dev", "prod"):
        routes = grown["environments"][env]["oncall_routes"]
        assert sorted(routes) == ["api-oncall", "platform-oncall"]
        assert routes["api-oncall"]["subscriptions"][0]["endpoint"] == f"api-{env}@example.com"
        assert "chat-webhook-key" in grown["environments"][env]["secrets"]
    assert "github-token" in grown["environments"]["prod"]["secrets"]
    # And the table it was given is unchanged
    assert sorted(table["environments"]["dev"]["oncall_routes"]) == ["platform-oncall"]


def test_a_growth_that_reuses_a_name_is_refused(growth, tmp_path) -> None:
    # Given a route the table already has / Then the growth refuses it, naming the environment
    table = {"environments": {"dev": {"oncall_routes": {"api-oncall": {}}}}}
    with pytest.raises(growth.GrowthError, match="environment 'dev' already has oncall_routes 'api-oncall'"):
        growth.grow_environments(table, {"oncall_routes": {"api-oncall": {}}})

    # And a fixture file that would replace one of the repository's is refused
    fixture, copy = tmp_path / "fixture", tmp_path / "copy"
    for root in (fixture, copy):
        (root / "automations").mkdir(parents=True)
        (root / "automations" / "same.yaml").write_text(root.name)
    with pytest.raises(growth.GrowthError, match=r"automations/same.yaml is already in the repository"):
        growth.add_fixture_files(fixture, copy)
    assert (copy / "automations" / "same.yaml").read_text() == "copy"


def test_the_copys_interpreter_imports_the_copy_even_from_a_clean_environment(growth, tmp_path) -> None:
    # Given code of its own in a copy, and a venv overlaid on the repository's
    code = tmp_path / "repo"
    (code / "infra").mkdir(parents=True)
    (code / "infra" / "__init__.py").write_text("")
    venv = growth.overlay_venv(Path(sys.prefix), code / ".venv", code)

    # When its python runs with nothing in the environment (as tests start `keel` the way people paste it)
    probe = "import infra, yaml; print(infra.__file__); print(yaml.__file__)"
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], env={}, cwd="/", capture_output=True, text=True, check=True
    )

    # Then it imports the copy's package, and the repository venv's installed ones
    infra_file, yaml_file = result.stdout.split()
    assert Path(infra_file) == code / "infra" / "__init__.py"
    assert Path(yaml_file).is_relative_to(growth.installed_packages(Path(sys.prefix)))
    # And the console scripts start the copy's interpreter
    assert (venv / "bin" / "keel").read_text().splitlines()[0] == f"#!{venv / 'bin' / 'python'}"
