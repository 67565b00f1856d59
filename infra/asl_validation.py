"""An ASL definition checked against the Amazon States Language at synth, so Step Functions never refuses it at deploy.

The checks are statelint's (PyPI `statelint`, a Python port of awslabs/statelint): every state's
fields by Type, required and forbidden fields (Next xor End, a Choice's Choices), retriers and
catchers field by field (JitterStrategy FULL|NONE, integer IntervalSeconds, BackoffRate >= 1),
Choice rules, JSONPath and intrinsic-function syntax in `.$` fields, transitions to states that
exist and states no transition reaches, JSONata states. Measured against cfn-lint's bundled Step
Functions schema (rule E3601): cfn-lint accepts an unknown retrier field, a wrong JitterStrategy, a
misspelt Choice operator and an unreachable state, and as a synth dependency costs 148 MB with
sympy and networkx and 0.4 s of import; statelint is 0.6 MB, 0.05 s of import and a few
milliseconds per definition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from statelint.config import Config
from statelint.linter import Linter
from statelint.problem import ProblemType

from infra.asl import SUBSTITUTION
from infra.errors import KeelConfigError

# Step Functions takes an integer BackoffRate (AWS's own retry example for Lambda tasks has
# "BackoffRate": 2, https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html);
# statelint, like the awslabs/statelint it ports, would insist on a decimal point.
CONFIG = Config(ignored_problem_types={ProblemType.FLOAT})
# What a ${...} reference stands for while checking: Keel substitutes a function's or topic's ARN or a
# table's or bus's name, and CloudFormation does so before Step Functions sees the definition, so a
# reference in `Resource` must read as the ARN it will be.
PLACEHOLDER = "arn:aws:lambda:eu-west-1:123456789012:function:{}"


def validate_definition(path: Path | str, definition: dict[str, Any]) -> None:
    """Raise KeelConfigError naming the file and the state for the first problem Step Functions would refuse."""
    problems = definition_problems(definition)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise KeelConfigError(path, "(definition)", f"{problems[0]}{more}")


def definition_problems(definition: dict[str, Any]) -> list[str]:
    """Each problem Step Functions would refuse the definition for, as statelint words it (empty when none)."""
    return [str(problem) for problem in Linter.validate(_substituted(definition), CONFIG)]


def _substituted(value: Any) -> Any:
    if isinstance(value, str):
        return SUBSTITUTION.sub(lambda match: PLACEHOLDER.format(match.group(1)), value)
    if isinstance(value, dict):
        return {key: _substituted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_substituted(item) for item in value]
    return value
