"""BENCHMARKS.md's catalog-scale section, rendered from measured points."""

from __future__ import annotations

from keel.bench.catalog_scale import ScalePoint
from keel.bench.scale_report import scale_section


def point(automations: int, seconds: float, **changes: object) -> ScalePoint:
    values: dict[str, object] = {
        "automations": automations,
        "stacks": automations + 1 + automations // 10,
        "build_seconds": seconds / 2,
        "synth_seconds": seconds / 2,
        "fullest_stack": "keel-dev-automation-ticket-triage-003",
        "fullest_share": 0.198,
        "largest_resources": 74,
        "largest_template_bytes": 176_000,
        "platform_template_bytes": 26_946,
        "platform_dashboard_bytes": 8_295,
        "resources": {"IAM roles": 6 * automations, "Lambda functions": 4 * automations, "alarms": 18 * automations},
        "rules_on_default_bus": 3 * automations // 4,
        "rules_on_keel_bus": automations // 4,
        "local_deploy_seconds": None,
        "peak_rss_mb": 250.0,
    }
    return ScalePoint(**(values | changes))  # type: ignore[arg-type]


def test_the_section_reports_each_size_and_the_growth_per_automation() -> None:
    # Given catalogs of 10, 100 and 300 automations that took 10 s, 40 s and 97 s
    lines = scale_section([point(10, 10.0), point(100, 40.0, local_deploy_seconds=20.3), point(300, 97.0)])
    text = "\n".join(lines)

    # Then each size is a row with its per-automation time, the local deploy where measured
    row = "| 10 | 12 | 5.0 | 5.0 | 10.0 | 1000 | 74 / 500 | 172 KiB / 1 MB | 20% (keel-dev-automation-ticket-triage-003) |"
    assert row in text
    assert "| 20.3 |" in text
    # And the growth between the smallest and the largest is stated per added automation
    assert "**300 ms per added automation** between 10 and 300" in text
    # And the account quotas 300 automations count against, with what to raise
    assert "| IAM roles | 1,800 | 1,000 per account by default, adjustable to 10,000" in text
    assert "| rules on the default bus | 225 | 300 per event bus" in text
    # And what to raise: 6 roles per automation, so 1,800 for 300 and about 166 fit the default
    assert "quota raised from 1,000 to at least 1,800 plus its other roles (about 166 automations fit the default)" in text
    assert "about 400 automations of this mix fit before it must be raised" in text


def test_a_run_without_the_scale_measurement_says_so() -> None:
    assert scale_section([])[-1] == "Not measured in this run (`--skip-scale`)."
