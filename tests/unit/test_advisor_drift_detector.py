"""functions/advisor_drift_watch/page_hinkley.py flags what river's PageHinkley flags, across saved states."""

from __future__ import annotations

import json
import random

import pytest
from river.drift import PageHinkley as RiverPageHinkley

from functions.advisor_drift_watch.page_hinkley import Mode, PageHinkley, Parameters


def streams() -> dict[str, list[float]]:
    rng = random.Random(19)
    return {
        "confidence falls": [rng.gauss(0.9, 0.08) for _ in range(200)] + [rng.gauss(0.5, 0.2) for _ in range(200)],
        "agreement falls": [float(rng.random() < 0.9) for _ in range(200)] + [float(rng.random() < 0.5) for _ in range(200)],
        "rises then falls": [rng.gauss(0.3, 0.1) for _ in range(150)]
        + [rng.gauss(0.8, 0.1) for _ in range(150)]
        + [rng.gauss(0.2, 0.1) for _ in range(150)],
        "steady": [rng.gauss(0.9, 0.05) for _ in range(400)],
    }


@pytest.mark.parametrize("mode", ["up", "down", "both"])
@pytest.mark.parametrize("name", ["confidence falls", "agreement falls", "rises then falls", "steady"])
def test_it_flags_the_observations_river_flags_even_when_saved_and_restored_between_each(name: str, mode: Mode) -> None:
    # Given one stream, river's detector and ours with the same parameters
    parameters = Parameters(min_instances=10, delta=0.05, threshold=3.0, mode=mode)
    river = RiverPageHinkley(min_instances=10, delta=0.05, threshold=3.0, mode=mode)
    state: dict[str, object] | None = None
    river_flags, our_flags = [], []

    # When every observation goes to both, ours saved to JSON and restored before each (as between runs)
    for index, value in enumerate(streams()[name]):
        river.update(value)
        if river.drift_detected:
            river_flags.append(index)
        ours = PageHinkley.restored(parameters, json.loads(json.dumps(state)) if state else None)
        if ours.update(value):
            our_flags.append(index)
        state = ours.state()

    # Then both flag the same observations
    assert our_flags == river_flags
    if name == "steady":
        assert our_flags == []
    elif mode != "up":
        assert our_flags != []
