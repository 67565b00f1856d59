"""Rendering the templates and writing them, never over an existing file."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path

from keel.local.errors import LocalCloudError

TEMPLATES = Path(__file__).resolve().parent / "templates"
PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")


class ScaffoldError(LocalCloudError):
    """What `keel new` was asked cannot be written (a bad name, a file that exists)."""


def render(template: str, values: dict[str, str]) -> str:
    """templates/<template> with each {{key}} replaced; a placeholder without a value is a bug here."""
    text = (TEMPLATES / template).read_text()
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise ValueError(f"{template}: no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def check_python_name(kind: str, name: str, pattern: str) -> None:
    if not re.fullmatch(pattern, name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"'{name}' is not a valid {kind} name: lower-case letters, digits and underscores, starting with a letter"
        )


@dataclass
class Files:
    """Files to write under a repository root, relative path -> content."""

    root: Path
    contents: dict[Path, str] = field(default_factory=dict)

    def add(self, relative: str, content: str) -> None:
        self.contents[Path(relative)] = content

    def write(self) -> list[Path]:
        """Writes them all, or none if any exists already."""
        existing = [relative for relative in self.contents if (self.root / relative).exists()]
        if existing:
            raise ScaffoldError(f"{existing[0]} already exists; nothing was written")
        for relative, content in self.contents.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        return sorted(self.contents)
