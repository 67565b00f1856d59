"""Deployment packages for function modules: the module and functions/shared, nothing else.

Packages keep the repository's import path (functions.<module>.handler) so the handler string is
the same on Lambda, in tests and in the local cloud. Third-party code comes from the Powertools
layer and the runtime's boto3, so packages stay a few kilobytes and no download happens at synth.
"""

from __future__ import annotations

import shutil
from pathlib import Path

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "function.yaml", "tests")


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
