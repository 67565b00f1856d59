"""What a function module declares beside its code (functions/<module>/function.yaml).

The declaration is the module's whole contract with the platform: its size, its time budget, which
platform resources it touches and which AWS actions it needs. The role is built from this and
nothing else, so least privilege is reviewed where the code lives.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infra.errors import KeelConfigError, from_validation_error

PlatformResource = Literal["idempotency_table", "decisions_table", "approvals_table", "event_bus", "oncall_topics"]
MODULE_NAME = r"^[a-z][a-z0-9_]{1,62}$"
SPEC_FILE = "function.yaml"


class Statement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[str] = Field(min_length=1)
    # Resource ARNs may use ${AWS::Region}, ${AWS::AccountId} and ${AWS::Partition}.
    resources: list[str] = Field(min_length=1)

    @field_validator("actions")
    @classmethod
    def _no_wildcard_action(cls, actions: list[str]) -> list[str]:
        for action in actions:
            if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action):
                raise ValueError(f"'{action}' must name one action as service:Action (no wildcards)")
        return actions

    @field_validator("resources")
    @classmethod
    def _no_wildcard_resource(cls, resources: list[str]) -> list[str]:
        for resource in resources:
            if "*" in resource:
                # Scoping by tag or name prefix needs a condition and a reviewed nag acknowledgment,
                # which this declaration cannot express yet.
                raise ValueError(f"'{resource}' contains a wildcard; name the resources the module touches")
        return resources


class FunctionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    module: str = Field(pattern=MODULE_NAME)
    description: str = Field(min_length=1, max_length=256)
    memory_mb: int = Field(ge=128, le=10240)
    timeout_seconds: int = Field(ge=1, le=900)
    reserved_concurrency: int | None = Field(default=None, ge=1)
    platform_access: list[PlatformResource] = Field(default_factory=list)
    permissions: list[Statement] = Field(default_factory=list)

    @property
    def handler(self) -> str:
        return f"functions.{self.module}.handler.lambda_handler"


def load_function_specs(functions_dir: Path) -> dict[str, FunctionSpec]:
    """Every module under functions/ that has a function.yaml, by module name."""
    specs: dict[str, FunctionSpec] = {}
    for spec_path in sorted(functions_dir.glob(f"*/{SPEC_FILE}")):
        module = spec_path.parent.name
        if not (spec_path.parent / "handler.py").is_file():
            raise KeelConfigError(spec_path, "module", f"functions/{module}/handler.py is missing")
        try:
            raw = yaml.safe_load(spec_path.read_text()) or {}
            specs[module] = FunctionSpec(module=module, **raw)
        except yaml.YAMLError as error:
            raise KeelConfigError(spec_path, "(document)", f"cannot read YAML: {error}") from error
        except ValidationError as error:
            raise from_validation_error(spec_path, error) from error
    return specs
