"""Options a command shares with all its subcommands, accepted before or after any of them.

People paste commands in the order Keel printed them (`keel ops approve ID --env prod`) or type them
in the order they think of them (`keel ops --env prod approve ID`); both must mean the same. argparse
only knows an option at the level that declared it, and a subcommand's default would overwrite a
value given earlier. So each shared option is declared once, with its real default, on the command
that owns it, and copied onto every subcommand below it with a suppressed default: given anywhere,
it is set; given nowhere, the owner's default stands.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SharedOption:
    flags: tuple[str, ...]
    help: str
    settings: dict[str, Any] = field(default_factory=dict)  # add_argument's other keywords (default, action, ...)


def share(owner: argparse.ArgumentParser, options: list[SharedOption]) -> None:
    """Declare `options` on `owner` and on every subcommand below it (call once the tree is built)."""
    for option in options:
        owner.add_argument(*option.flags, help=option.help, **option.settings)
    for parser in _descendants(owner):
        for option in options:
            inherited = {key: value for key, value in option.settings.items() if key != "default"}
            parser.add_argument(*option.flags, help=option.help, default=argparse.SUPPRESS, **inherited)


def _descendants(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                yield child
                yield from _descendants(child)
