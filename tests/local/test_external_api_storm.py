"""50 signups at once through user_onboarding: each API's rate limit and circuit breaker hold across
executions and Lambda instances (call_api runs in many worker processes at once), measured from the
fake APIs' request log.

Billing is down when the storm starts: every request gets 503 until its breaker opens, then it
recovers. The breaker reads world time, which passes in real time here (dev's cool-off is 5 s), so
the executions refused meanwhile wait in their Wait states until a probe closes it.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from keel.local.cloud import LocalCloud
from keel.local.fake_apis import ApiFault, Recorded
from keel.local.template import EnvironmentTemplate
from keel.local.world import apply_worlds, template_variables, worlds_for

SIGNUPS = 50
SAMPLE = Path(__file__).resolve().parents[2] / "events" / "user_onboarding" / "01-signed-up.json"
UNTIL = re.compile(r"Calls to it stop until (\S+), then")
BREAKER = {"pk": {"S": "api#billing#breaker"}, "sk": {"S": "state"}}


def signups() -> list[dict[str, Any]]:
    sample = json.loads(SAMPLE.read_text())
    events = []
    for number in range(SIGNUPS):
        event = copy.deepcopy(sample)
        event["id"] = f"storm-signup-{number:02d}"
        event["detail"].update(user_id=f"usr_storm_{number:02d}", email=f"storm{number:02d}@example.org")
        events.append(event)
    return events


def recover_when_open(cloud: LocalCloud, outage: ApiFault, stop: threading.Event) -> Callable[[], None]:
    """Once billing's breaker opens, billing answers again."""

    def watch() -> None:
        limits = cloud.client("dynamodb")
        while not stop.wait(0.05):
            item = limits.get_item(TableName="keel-dev-limits", Key=BREAKER, ConsistentRead=True).get("Item", {})
            if "opened_until" in item:
                outage.times = outage.used  # the API is back
                return

    return watch


def opened_until(message: str) -> int:
    """The second a breaker's page says calls stop until."""
    found = UNTIL.search(message)
    assert found is not None, message
    return int(datetime.fromisoformat(found[1]).timestamp())


def busiest_second(log: list[Recorded]) -> int:
    """The most requests sent in one second (their Date). Arrival times bunch on a busy 2-core machine
    (workers wait for a CPU, one Python process serves every TLS connection); the rate limit is about
    what the platform sends, and the Date a request carries is the second its rate slot was granted."""
    assert all(request.sent is not None for request in log)
    return max(Counter(request.sent for request in log).values())


def test_fifty_signups_keep_each_apis_rate_limit_and_billings_breaker_stops_calls_while_open(
    dev_template: EnvironmentTemplate,
) -> None:
    # Given billing down (503 to everything) and 50 signups delivered before any is driven
    outage = ApiFault("billing", "503", times=10**6)
    stop = threading.Event()
    with LocalCloud(dev_template) as cloud:
        apply_worlds(worlds_for([SAMPLE]), cloud.client, template_variables(dev_template.account, dev_template.region))
        cloud.faults.apis.append(outage)
        watcher = threading.Thread(target=recover_when_open(cloud, outage, stop), daemon=True)
        watcher.start()
        started = [d.execution_arn for event in signups() for d in cloud.deliver(event) if "user_onboarding" in d.rule]

        # When they all run to their end
        try:
            cloud.drive()
        finally:
            stop.set()
            watcher.join()
        assert cloud.apis is not None
        crm, billing = cloud.apis.log("crm"), [request for request in cloud.apis.log("billing") if request.path != "/oauth/token"]
        statuses = [cloud.execution_status(arn) for arn in started if arn]
        customers = cloud.apis.fakes["billing"].items.get("customers", {})
        pages = [page for page in cloud.pages() if page.subject == "Circuit open: API billing (dev)"]

    # Then none is lost: every onboarding succeeded, with one contact and one customer per user
    assert Counter(statuses) == Counter({"SUCCEEDED": SIGNUPS})
    assert len(customers) == SIGNUPS
    # and no second of the request log holds more calls than each API's rate limit (10/s in dev)
    assert len(crm) >= 2 * SIGNUPS
    assert busiest_second(crm) <= 10
    assert busiest_second(billing) <= 10
    # and the breaker opened (5 failures in a row) and paged the owner's route; each time it opened, no
    # call was sent to billing in the seconds between its opening and the end of its cool-off (dev: 5 s)
    failing = [request for request in billing if request.status == 503]
    assert 5 <= len(failing) < SIGNUPS
    assert pages
    assert {page.route for page in pages} == {"keel-dev-oncall-support-oncall"}
    # (The opening's time is taken as its write leaves the handler; on a busy machine the write can wait a
    # moment at the local cloud's endpoint, during which a request already let through is sent: the
    # opening's own second and the next are not checked.)
    for until_second in map(opened_until, (page.message for page in pages)):
        assert [request for request in billing if until_second - 5 + 1 < (request.sent or 0) < until_second] == []
