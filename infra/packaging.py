"""Deployment packages for function modules: the module, and the shared code it imports, nothing else.

Packages keep the repository's import path (functions.<module>.handler) so the handler string is
the same on Lambda, in tests and in the local cloud. Third-party code comes from the Powertools
layer and the runtime's boto3, so packages stay a few kilobytes and no download happens at synth.

What a module needs from functions/shared is read from its imports (every `import` statement of its
files, followed through the shared modules they import): a module that does not remediate ships
without shared/remediation/, and a change to shared code changes the code version of only the
modules that use it. A module importing another module is refused: each deploys on its own.
"""

from __future__ import annotations

import ast
import hashlib
import shutil
from pathlib import Path

PACKAGE = "functions"
SHARED = "shared"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "function.yaml", "tests")
IGNORED_PARTS = {"__pycache__", "tests"}


def package_digest(package_dir: Path) -> str:
    """sha256 over the package's files (paths and contents): the code version decisions record."""
    digest = hashlib.sha256()
    for path in sorted(p for p in package_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def stage_package(functions_dir: Path, module: str, build_dir: Path) -> Path:
    """Copy what `module` needs into build_dir/<module>; returns the asset directory."""
    target = build_dir / module
    if target.exists():
        shutil.rmtree(target)
    package = target / PACKAGE
    package.mkdir(parents=True)
    shutil.copy2(functions_dir / "__init__.py", package / "__init__.py")
    shutil.copytree(functions_dir / module, package / module, ignore=IGNORED)
    for source in shared_files(functions_dir, module):
        destination = package / source.relative_to(functions_dir)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    return target


def shared_files(functions_dir: Path, module: str) -> list[Path]:
    """The files of functions/shared that `module` imports, directly or through other shared files,
    with the __init__.py of every package on their way."""
    pending = [path for path in sorted((functions_dir / module).rglob("*.py")) if not IGNORED_PARTS & set(path.parts)]
    seen: set[Path] = set()
    needed: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_names(path):
            parts = name.split(".")
            if parts[0] != PACKAGE or len(parts) < 2:
                continue
            if parts[1] not in (SHARED, module):
                raise ValueError(
                    f"{path}: functions.{module} imports {name}; a module may import only itself and functions.shared"
                )
            found = _source_of(functions_dir, parts[1:])
            if found is not None and parts[1] == SHARED:
                files = _with_packages(functions_dir, found)
                needed.update(files)
                pending.extend(files)
    return sorted(needed)


def imported_names(path: Path) -> set[str]:
    """Every module an `import` in the file may load: `from a.b import c` may be a.b or a.b.c."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _source_of(functions_dir: Path, parts: list[str]) -> Path | None:
    """The file a dotted name under functions/ is loaded from; None for a name inside a module."""
    base = functions_dir.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _with_packages(functions_dir: Path, source: Path) -> list[Path]:
    """The file and the __init__.py of each package between it and functions/ (Python imports them first)."""
    files = [source]
    directory = source.parent
    while directory != functions_dir:
        files.append(directory / "__init__.py")
        directory = directory.parent
    return files
