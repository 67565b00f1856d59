"""The watch's configuration (watch.json beside this file): what it watches and how sensitive it is.

Per signal, the Page-Hinkley parameters (page_hinkley.py): `delta` is the change of the mean that is
tolerated, `threshold` how much evidence of a fall confirms a drift (in the signal's unit: 3.0 is,
say, ten tickets each 0.35 less confident than usual), `min_instances` the observations needed first,
`mode` "down": only a fall of confidence or agreement is a drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from functions.advisor_drift_watch.page_hinkley import Parameters
from functions.shared.runtime.contract import ConfigDict, Field, Model
from functions.shared.runtime.errors import ConfigurationError

CONFIG_FILE = Path(__file__).with_name("watch.json")


class SignalConfig(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_instances: int = Field(ge=2)
    delta: float = Field(ge=0)
    threshold: float = Field(gt=0)
    mode: Literal["up", "down", "both"]

    def parameters(self) -> Parameters:
        return Parameters(min_instances=self.min_instances, delta=self.delta, threshold=self.threshold, mode=self.mode)


class Signals(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    confidence: SignalConfig
    agreement: SignalConfig


class WatchConfig(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    automation: str = Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")
    # A drift of the model already reported is not reported again for this long (unless the model changes).
    cooldown_hours: int = Field(ge=1)
    # How many of the latest observations are "after" when a drift's levels are reported.
    recent: int = Field(ge=1)
    # Records read per run at most: a backlog is read over several runs.
    max_records_per_run: int = Field(ge=1)
    # The first run starts this many records before the chain's head, not at its beginning.
    first_run_backfill: int = Field(ge=0)
    signals: Signals


def load_config(path: Path = CONFIG_FILE) -> WatchConfig:
    try:
        return WatchConfig.model_validate(json.loads(path.read_text()))
    except ValueError as error:  # malformed JSON, or a ValidationError naming the field
        raise ConfigurationError(f"{path.name}: {error}") from None
