"""IAM's decision for one action on one resource, from a role's identity-based policies.

The rules are AWS's policy evaluation logic for a request within one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny in any policy wins, otherwise an Allow is needed, otherwise the request is
implicitly denied; with a permissions boundary, the boundary must allow the action too.
Action names match case-insensitively, resource ARNs case-sensitively, both with the wildcards
`*` and `?` (reference_policies_elements_action.html, reference_policies_elements_resource.html).

What this does not evaluate, on purpose, because the local cloud cannot know enough to do it right:

- Condition blocks. A statement with a Condition is taken as though the condition held when it
  allows, and as though it did not when it denies: the local cloud never refuses what AWS might
  allow, so a condition-scoped Allow (the `conditions` of function.yaml, e.g. aws:ResourceTag) allows
  more locally than on AWS.
- A resource the request's parameters do not name (see keel/local/iam_requests.py): then any statement
  naming the action applies, whatever its Resource says.
- Resource-based policies (key, queue, topic and secret policies), session policies, SCPs and RCPs.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Permission:
    """What a request needs: one action, on one resource (an ARN), or None when the request does not
    say which resource it acts on in a way the local cloud can read."""

    action: str
    resource: str | None


class Verdict(Enum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "implicitly denied"
    EXPLICIT_DENY = "explicitly denied"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    # Which kind of policy decided a refusal, as AWS names it in its AccessDenied messages.
    policy_type: str = "identity-based policy"

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED


Document = dict[str, Any]


def decide(permission: Permission, identity: Iterable[Document], boundary: Document | None = None) -> Decision:
    """AWS's decision for the permission, given the role's policies and its permissions boundary."""
    verdict = _verdict(permission, identity)
    if verdict is not Verdict.ALLOWED:
        return Decision(verdict)
    if boundary is not None:
        bounded = _verdict(permission, [boundary])
        if bounded is not Verdict.ALLOWED:
            return Decision(bounded, "permissions boundary")
    return Decision(Verdict.ALLOWED)


def documents(texts: Iterable[str | Document]) -> list[Document]:
    """Policy documents as moto keeps them (JSON text, sometimes already parsed)."""
    return [_parsed(text) if isinstance(text, str) else text for text in texts]


@lru_cache(maxsize=1024)
def _parsed(text: str) -> Document:
    document: Document = json.loads(text)
    return document


def _verdict(permission: Permission, policies: Iterable[Document]) -> Verdict:
    allowed = False
    for policy in policies:
        for statement in _statements(policy):
            if not _applies(statement, permission):
                continue
            if statement.get("Effect") == "Deny":
                if "Condition" not in statement:
                    return Verdict.EXPLICIT_DENY
            elif statement.get("Effect") == "Allow":
                allowed = True
    return Verdict.ALLOWED if allowed else Verdict.IMPLICIT_DENY


def _statements(policy: Document) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _applies(statement: dict[str, Any], permission: Permission) -> bool:
    if "NotAction" in statement:
        if _any_match(statement["NotAction"], permission.action, ignore_case=True):
            return False
    elif not _any_match(statement.get("Action", []), permission.action, ignore_case=True):
        return False
    if permission.resource is None:
        return True
    if "NotResource" in statement:
        return not _any_match(statement["NotResource"], permission.resource, ignore_case=False)
    return _any_match(statement.get("Resource", []), permission.resource, ignore_case=False)


def _any_match(patterns: str | list[str], value: str, *, ignore_case: bool) -> bool:
    candidates = [patterns] if isinstance(patterns, str) else patterns
    return any(_pattern(pattern, ignore_case).fullmatch(value) is not None for pattern in candidates)


@lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # fnmatch's translation gives `*` and `?` their IAM meaning; IAM has no character classes, so
    # brackets are escaped first and stay literal.
    literal_brackets = pattern.replace("[", "[[]")
    return re.compile(fnmatch.translate(literal_brackets), re.IGNORECASE if ignore_case else 0)
