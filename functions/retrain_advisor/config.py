"""How retraining is done: versioned data (retraining.json), like the triage policy.

- `automation`: whose advisor is retrained (its reviewed decisions are the labels, its evidence the text).
- `min_reviewed_labels`, `min_categories`: below either, nothing is trained (recorded as such).
- `label_window_days`: how far back reviewed decisions are read; the evidence is kept 30 days at most.
- `test_share`, `validation_share`, `seed`: the seeded split (held out for the comparison, and for the
  temperature that calibrates the candidate's confidence).
"""

from __future__ import annotations

import json
from pathlib import Path

from functions.shared.runtime.contract import ConfigDict, Field, Model

CONFIG_FILE = Path(__file__).resolve().parent / "retraining.json"


class RetrainingConfig(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    automation: str = Field(pattern=r"^[a-z][a-z0-9_]{2,48}$")
    model_name: str = Field(pattern=r"^[a-z][a-z0-9-]+$")
    bigrams: bool
    min_reviewed_labels: int = Field(ge=5)
    min_categories: int = Field(ge=2)
    label_window_days: int = Field(ge=1, le=90)
    test_share: float = Field(gt=0, lt=0.5)
    validation_share: float = Field(gt=0, lt=0.5)
    seed: int


def load_config(path: Path = CONFIG_FILE) -> RetrainingConfig:
    return RetrainingConfig.model_validate(json.loads(path.read_text()))
