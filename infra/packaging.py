"""Deployment packages for function modules: the module and functions/shared, nothing else.

Packages keep the repository's import path (functions.<module>.handler) so the handler string is
the same on Lambda, in tests and in the local cloud. Third-party code comes from the Powertools
layer and the runtime's boto3, so packages stay a few kilobytes and no download happens at synth.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "function.yaml", "tests")


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
    package = target / "functions"
    package.mkdir(parents=True)
    shutil.copy2(functions_dir / "__init__.py", package / "__init__.py")
    shutil.copytree(functions_dir / "shared", package / "shared", ignore=IGNORED)
    shutil.copytree(functions_dir / module, package / module, ignore=IGNORED)
    return target
