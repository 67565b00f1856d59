"""keel/local/releases.py: an alias's deployment preference shifting on virtual time, and its alarm check."""

from __future__ import annotations

import pytest

from keel.local.releases import Alias, Releases

ALIAS = "arn:aws:states:eu-west-1:111111111111:stateMachine:keel-dev-sample:live"
V1, V2 = ALIAS.replace(":live", ":1"), ALIAS.replace(":live", ":2")


class World:
    """Alarm states the test sets, and the routings the local cloud would publish to moto."""

    def __init__(self) -> None:
        self.alarms: dict[str, str] = {}
        self.published: list[dict[str, int]] = []

    def releases(self) -> Releases:
        return Releases(0, lambda name: self.alarms.get(name, "OK"), self.publish)

    def publish(self, alias: Alias) -> None:
        self.published.append(dict(alias.routing))


def preference(kind: str, percent: int = 20, interval: int = 10) -> dict[str, object]:
    return {"StateMachineVersionArn": V2, "Type": kind, "Percentage": percent, "Interval": interval, "Alarms": ["failures"]}


@pytest.mark.parametrize(
    ("kind", "shares"),
    [
        # minutes after the update: 0, 9, 10, 30, 50
        ("CANARY", [20, 20, 100, 100, 100]),
        ("LINEAR", [20, 20, 40, 80, 100]),
        ("ALL_AT_ONCE", [100, 100, 100, 100, 100]),
    ],
)
def test_a_deployment_preference_shifts_the_new_versions_share_over_time(kind: str, shares: list[int]) -> None:
    # Given an alias on version 1
    world = World()
    releases = world.releases()
    releases.deploy(ALIAS, {"StateMachineVersionArn": V1, "Type": "ALL_AT_ONCE"}, None, now=0)

    # When an update points it at version 2 by the preference, and time passes without alarms
    releases.deploy(ALIAS, preference(kind), None, now=1000)
    seen = []
    for minutes in (0, 9, 10, 30, 50):
        releases.evaluate(1000 + 60 * minutes)
        alias = releases.get(ALIAS)
        assert alias is not None
        seen.append(alias.routing.get(V2, 0))

    # Then version 2's share follows the strategy, and the alias ends on version 2 alone
    assert seen == shares
    assert [world.published[-1], alias.status] == [{V2: 100}, "completed"]


def test_an_alarm_during_the_shift_sends_every_event_back_to_the_previous_version() -> None:
    # Given a canary of version 2 under way
    world = World()
    releases = world.releases()
    releases.deploy(ALIAS, {"StateMachineVersionArn": V1, "Type": "ALL_AT_ONCE"}, None, now=0)
    releases.deploy(ALIAS, preference("CANARY"), None, now=0)
    draws = {releases.route(ALIAS, now=60) for _ in range(50)}

    # When its alarm enters ALARM before the interval is over
    world.alarms["failures"] = "ALARM"
    releases.evaluate(120)

    # Then the alias is back on version 1, for good, and moto was told
    alias = releases.get(ALIAS)
    assert alias is not None
    assert draws == {V1, V2}
    assert (alias.status, alias.routing) == ("rolled_back", {V1: 100})
    assert world.published[-1] == {V1: 100}
    world.alarms["failures"] = "OK"
    releases.evaluate(3600)
    assert {releases.route(ALIAS, now=3600) for _ in range(20)} == {V1}
