"""infra/packaging.py: each deployment package holds its module and the shared code it imports, and
imports on its own, without the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.packaging import shared_files, stage_package

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
MODULES = sorted(path.parent.name for path in FUNCTIONS.glob("*/function.yaml"))
# Imports the handler from the package directory alone and says where `functions` came from.
PROBE = "import functions, functions.{module}.handler; print(functions.__file__)"


def staged_files(package: Path) -> set[str]:
    return {path.relative_to(package).as_posix() for path in package.rglob("*.py")}


@pytest.mark.parametrize("module", MODULES)
def test_a_staged_package_imports_its_handler_on_its_own(module: str, tmp_path: Path) -> None:
    # Given the module's package, staged as synth stages it
    package = stage_package(FUNCTIONS, module, tmp_path)

    # When a fresh interpreter imports the handler from that directory (the repository's copy of
    # `functions` comes later on sys.path, so a file missing from the package cannot be found)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], cwd=package, env=env, capture_output=True, text=True, check=False
    )

    # Then it imports, from the package
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == (package / "functions" / "__init__.py").resolve()


def test_only_the_modules_that_remediate_ship_the_remediation_code(tmp_path: Path) -> None:
    # Given a module that routes tickets and one that remediates, staged
    routing = staged_files(stage_package(FUNCTIONS, "route_ticket", tmp_path))
    acting = staged_files(stage_package(FUNCTIONS, "remediate_service", tmp_path))

    # Then each has the runtime and its own code; only the remediating one has shared/remediation
    # and the remediation adapters, only the routing one the queue sender
    for files, module in ((routing, "route_ticket"), (acting, "remediate_service")):
        assert {"functions/__init__.py", "functions/shared/runtime/handler.py", f"functions/{module}/handler.py"} <= files
    assert not any(name.startswith("functions/shared/remediation/") for name in routing)
    assert {"functions/shared/remediation/plan.py", "functions/shared/remediation/recording.py"} <= acting
    assert ("functions/shared/adapters/resources.py" in acting, "functions/shared/adapters/resources.py" in routing) == (
        True,
        False,
    )
    assert ("functions/shared/adapters/sqs.py" in acting, "functions/shared/adapters/sqs.py" in routing) == (False, True)


def make_functions(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"__init__.py": "", "shared/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_shared_code_is_followed_through_the_shared_modules_it_imports(tmp_path: Path) -> None:
    # Given a module whose handler imports a shared module that imports another, inside a function
    functions = make_functions(
        tmp_path / "functions",
        {
            "alpha/__init__.py": "",
            "alpha/handler.py": "from functions.shared.kit import first\n",
            "shared/kit/__init__.py": "",
            "shared/kit/first.py": "def run():\n    from functions.shared.kit.second import VALUE\n    return VALUE\n",
            "shared/kit/second.py": "VALUE = 1\n",
            "shared/unused.py": "",
        },
    )

    # When its shared files are listed / Then both are, with their packages, and the unused one is not
    assert [path.relative_to(functions).as_posix() for path in shared_files(functions, "alpha")] == [
        "shared/__init__.py",
        "shared/kit/__init__.py",
        "shared/kit/first.py",
        "shared/kit/second.py",
    ]


def test_a_module_that_imports_another_module_is_refused(tmp_path: Path) -> None:
    # Given a module importing another module's logic (which its package would not hold)
    functions = make_functions(
        tmp_path / "functions",
        {"alpha/__init__.py": "", "alpha/handler.py": "from functions.beta.logic import x\n", "beta/logic.py": "x = 1\n"},
    )

    # When it is staged / Then synth stops, naming the import
    with pytest.raises(ValueError, match=r"functions\.alpha imports functions\.beta\.logic"):
        stage_package(functions, "alpha", tmp_path / "build")
