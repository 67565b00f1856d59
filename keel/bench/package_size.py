"""Deployment package size per function (infra/packaging.stage_package), and the Powertools layer.

The Powertools layer is not in the packages: functions get it from the public layer. Its size is
estimated from the installed packages our functions import from it (Powertools and its
dependencies), which is an estimate: the public layer also ships other extras.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from infra.packaging import stage_package

LAYER_PACKAGES = (
    "aws_lambda_powertools",
    "typing_extensions",
)


@dataclass(frozen=True)
class PackageSize:
    name: str
    files: int
    bytes: int
    zipped_bytes: int


def measure_directory(name: str, paths: list[Path], base: Path) -> PackageSize:
    """Files, bytes and deflated zip size of the files under paths (bytecode caches excluded)."""
    files = [
        file
        for path in paths
        for file in ([path] if path.is_file() else sorted(path.rglob("*")))
        if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc"
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.relative_to(base).as_posix())
    return PackageSize(name, len(files), sum(file.stat().st_size for file in files), len(buffer.getvalue()))


def function_packages(functions_dir: Path, modules: list[str], build_dir: Path) -> list[PackageSize]:
    sizes = []
    for module in modules:
        target = stage_package(functions_dir, module, build_dir)
        sizes.append(measure_directory(module, [target], target))
    return sizes


def layer_estimate() -> PackageSize | None:
    paths = []
    for package in LAYER_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        paths.append(origin.parent if origin.name == "__init__.py" else origin)
    if not paths:
        return None
    return measure_directory("Powertools layer (estimate)", paths, paths[0].parent)
