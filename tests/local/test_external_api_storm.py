"""50 signups at once through user_onboarding: each API's rate limit and circuit breaker hold across
executions and Lambda instances (call_api runs in many worker processes at once), measured from the
fake APIs' request log.

Billing is down when the storm starts, until its breaker's first cool-off ends. The breaker reads
world time, which passes in real time here (dev's cool-off is 5 s), so the executions it holds back
wait in their Wait states until a probe closes it.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keel.local.cloud import LocalCloud
from keel.local.fake_apis import ApiFault, Recorded
from keel.local.template import EnvironmentTemplate
from keel.local.world import apply_worlds, template_variables, worlds_for

SIGNUPS = 50
SAMPLE = Path(__file__).resolve().parents[2] / "events" / "user_onboarding" / "01-signed-up.json"
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


def recover_when_cooled_off(cloud: LocalCloud, outage: ApiFault, stop: threading.Event) -> Callable[[], None]:
    """Billing stays down until its breaker's first cool-off is about to end, then answers again."""

    def watch() -> None:
        limits = cloud.client("dynamodb")
        until: float | None = None
        while not stop.wait(0.05):
            if until is None:
                item = limits.get_item(TableName="keel-dev-limits", Key=BREAKER, ConsistentRead=True).get("Item", {})
                until = int(item["opened_until"]["N"]) / 1000 if "opened_until" in item else None
            elif cloud.clock.world_time() >= until - 0.5:
                outage.times = outage.used  # the API is back
                return

    return watch


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
        watcher = threading.Thread(target=recover_when_cooled_off(cloud, outage, stop), daemon=True)
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
    # and billing's breaker opened (5 failures in a row), paged the owner's route, and held calls back while
    # billing was down: fewer failed calls than executions, where every execution would have met the
    # outage without it (each needs a billing customer), and then spent its retries and been compensated
    failing = [request for request in billing if request.status == 503]
    assert 5 <= len(failing) < SIGNUPS
    assert pages
    assert {page.route for page in pages} == {"keel-dev-oncall-support-oncall"}
