"""The pre-commit hooks run exactly `make lint`'s checks, with the project's own tools."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def lint_commands() -> list[str]:
    """The recipe of `make lint`, with $(VENV) spelled out."""
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe is not None, "the Makefile has no lint target"
    return [line.strip().lstrip("@").replace("$(VENV)", ".venv") for line in recipe.group(1).splitlines()]


def test_the_hooks_are_the_commands_of_make_lint() -> None:
    # Given the pre-commit configuration
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())

    # When its hooks are read
    [repo] = config["repos"]
    hooks = repo["hooks"]

    # Then they are local hooks (nothing downloaded) running make lint's commands, on the whole tree as make does
    assert repo["repo"] == "local"
    assert [hook["entry"] for hook in hooks] == lint_commands()
    assert all(hook["language"] == "unsupported" and hook["pass_filenames"] is False for hook in hooks)


def test_pre_commit_accepts_the_configuration() -> None:
    # Given the pinned pre-commit / When it validates the configuration / Then it accepts it
    result = subprocess.run(
        [str(VENV_BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
