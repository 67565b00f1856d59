"""Customer text of a confidential automation, passed through its workflow as references.

A confidential or restricted automation names the fields of its event's `detail` that hold customer
text (manifest `confidential_text`). Keel's first state after the claim, `KeelSealConfidential`
(module seal_confidential), keeps their text in the platform's confidential store and replaces each
with a reference: the store key, the field, the text's sha256 and its length. The modules that need
the text read it back by reference (functions/shared/adapters/confidential_store.py), check the
digest, and never return it; everything else, operators included, sees `label(reference)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from functions.shared.runtime.contract import ConfigDict, Field, Model
from functions.shared.runtime.errors import InvalidInputError

# The key every reference carries: a value of the detail that is an object with it is a reference.
MARK = "sealed"
SHA256 = r"^[0-9a-f]{64}$"
# DynamoDB's item limit is 400 KB, attribute names and values together
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html, "Items"); the stored
# item also holds its key, the field names and the expiry, so the text gets less. An EventBridge event is
# at most 256 KB (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html), so only
# a hand-started execution can reach this.
MAX_STORED_BYTES = 380_000


class Reference(Model):
    """What the workflow carries in place of one field's text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sealed: str = Field(min_length=1, max_length=300)
    field: str = Field(min_length=1, max_length=200)
    sha256: str = Field(pattern=SHA256)
    length: int = Field(ge=0)

    def label(self) -> str:
        return label_of(self.length, self.sha256)


class Texts(Protocol):
    """The confidential store as a module reads it (functions/shared/adapters/confidential_store.py): the
    detail with each reference replaced by its checked text, unchanged when it holds none."""

    def revealed(self, detail: Any, automation: str, now: datetime, *, at: str = "detail") -> Any: ...


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def label_of(length: int, sha256: str) -> str:
    """What a person is shown in place of the text: its size and a digest to compare, never the text."""
    return f"[confidential: {length} chars, sha256 {sha256[:12]}...]"


def label(text: str) -> str:
    return label_of(len(text), digest(text))


def store_key(automation: str, event_id: str) -> str:
    return f"text#{automation}#{event_id}"


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and MARK in value


def split(path: str) -> list[str]:
    return path.split(".")


def read_field(detail: dict[str, Any], path: str) -> tuple[bool, Any]:
    """(found, value) of a dotted path in the detail."""
    node: Any = detail
    for part in split(path):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def write_field(detail: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the detail with the value at a dotted path replaced (the path exists)."""
    head, *rest = split(path)
    copied = dict(detail)
    copied[head] = write_field(detail[head], ".".join(rest), value) if rest else value
    return copied


def texts_of(detail: Any, fields: Sequence[str], *, at: str = "detail") -> dict[str, str]:
    """The text of each named field present, or InvalidInputError naming the field; the message never quotes it.

    A field that is absent holds nothing to keep: the module that reads the event refuses it by its contract
    (naming every field the event breaks). A value that is not text cannot be kept as text, and must not
    travel on unsealed: it is refused here.
    """
    if not isinstance(detail, dict):
        raise InvalidInputError(f"{at}: the event's detail must be an object holding the confidential text")
    texts: dict[str, str] = {}
    for path in fields:
        found, value = read_field(detail, path)
        if not found:
            continue
        if is_reference(value):
            raise InvalidInputError(f"{at}.{path}: already a reference: the event was sealed before it arrived")
        if not isinstance(value, str):
            raise InvalidInputError(f"{at}.{path}: Input should be a valid string, not {type(value).__name__}")
        texts[path] = value
    size = sum(len(text.encode("utf-8")) for text in texts.values())
    if size > MAX_STORED_BYTES:
        raise InvalidInputError(
            f"{at}: the confidential text is {size:,} bytes, more than the {MAX_STORED_BYTES:,} the confidential store holds"
        )
    return texts


def sealed(detail: dict[str, Any], texts: dict[str, str], key: str) -> dict[str, Any]:
    """The detail with each text replaced by its reference."""
    for path, text in texts.items():
        reference = Reference(sealed=key, field=path, sha256=digest(text), length=len(text))
        detail = write_field(detail, path, reference.model_dump())
    return detail


def references_in(detail: Any, *, at: str = "detail") -> dict[str, Reference]:
    """Every reference in a detail, by dotted path; a malformed one is InvalidInputError naming it."""
    found: dict[str, Reference] = {}

    def walk(node: Any, path: list[str]) -> None:
        if is_reference(node):
            where = ".".join(path)
            try:
                found[where] = Reference.model_validate(node)
            except ValueError:
                raise InvalidInputError(f"{at}.{where}: a malformed confidential reference") from None
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, str(key)])

    walk(detail, [])
    return found


def labelled(detail: Any) -> Any:
    """The detail with each reference shown as its label (what a reviewer or an operator reads)."""
    if not isinstance(detail, dict):
        return detail
    for path, reference in references_in(detail).items():
        detail = write_field(detail, path, reference.label())
    return detail
