"""BENCHMARKS.md's catalog-scale section: generated catalogs against CloudFormation's quotas, and what
300 automations cost in account quotas (keel/bench/catalog_scale.py measures them)."""

from __future__ import annotations

from keel.bench.catalog_scale import ScalePoint
from keel.bench.markdown import table

# Account quotas the catalog's resources count against; each from AWS's quota page (read 2026-12).
ACCOUNT_QUOTAS = {
    "IAM roles": (
        "1,000 per account by default, adjustable to 10,000 (Roles per account, L-FE177D64)",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
    ),
    "Lambda functions": (
        "no quota on the number; 300 GB of code storage per Region (ours are kilobytes)",
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    ),
    "log groups": ("1,000,000 per Region", "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html"),
    "alarms": (
        "no quota on the number (billed per alarm-month)",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html",
    ),
    "state machines": ("100,000 per Region", "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html"),
    "stacks": (
        "2,000 per Region, adjustable",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
    ),
    "rules on the default bus": (
        "300 per event bus, adjustable (L-244521F2)",
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html",
    ),
}


def scale_section(points: list[ScalePoint]) -> list[str]:
    if not points:
        return ["## 8. Catalog scale", "", "Not measured in this run (`--skip-scale`)."]
    rows = [
        [
            str(point.automations),
            str(point.stacks),
            f"{point.build_seconds:.1f}",
            f"{point.synth_seconds:.1f}",
            f"{point.total_seconds:.1f}",
            f"{point.seconds_per_automation * 1000:.0f}",
            f"{point.largest_resources} / 500",
            f"{point.largest_template_bytes / 1024:.0f} KiB / 1 MB",
            f"{point.fullest_share:.0%} ({point.fullest_stack})",
            f"{point.platform_template_bytes / 1024:.1f} KiB",
            f"{point.peak_rss_mb:.0f}",
            "-" if point.local_deploy_seconds is None else f"{point.local_deploy_seconds:.1f}",
        ]
        for point in points
    ]
    largest = points[-1]
    costs = [
        [label, f"{count:,}", *ACCOUNT_QUOTAS[label]] for label, count in largest.resources.items() if label in ACCOUNT_QUOTAS
    ]
    costs += [
        ["stacks", f"{largest.stacks:,}", *ACCOUNT_QUOTAS["stacks"]],
        ["rules on the default bus", f"{largest.rules_on_default_bus:,}", *ACCOUNT_QUOTAS["rules on the default bus"]],
    ]
    first, last = points[0], points[-1]
    growth = (last.total_seconds - first.total_seconds) / (last.automations - first.automations)
    return [
        "## 8. Catalog scale",
        "",
        "Generated catalogs (keel/bench/generated_catalog.py: variants of the real automations, one owning team per "
        "ten) synthesized for one environment, each size in a fresh interpreter. Build is constructing the CDK app; "
        "synth is `app.synth()` with cdk-nag and the quota guard. The fullest stack is the one closest to any "
        "quota the guard checks (infra/quotas.py; synth stops above 80%).",
        "",
        *table(
            [
                "automations",
                "stacks",
                "build s",
                "synth s",
                "total s",
                "ms per automation",
                "largest stack, resources",
                "largest template",
                "fullest stack",
                "platform template",
                "peak RSS MB",
                "local deploy s",
            ],
            rows,
        ),
        "",
        f"Synth grows linearly: **{growth * 1000:.0f} ms per added automation** between {first.automations} and "
        f"{last.automations}; the platform stack is the same size at every catalog size (its dashboard searches, it "
        "lists nothing). The local cloud's deploy is every stack of the assembly created in moto.",
        "",
        f"What {largest.automations} automations cost in the account (counted from the synthesized templates):",
        "",
        *table(["resource", "count", "quota", "source"], costs),
        "",
        *_to_raise(largest),
    ]


def _to_raise(point: ScalePoint) -> list[str]:
    """What an account holding this catalog must ask AWS for, in Service Quotas."""
    roles = point.resources.get("IAM roles", 0)
    per_automation = roles / point.automations
    lines = [
        f"Each automation brings {per_automation:.2f} IAM roles (its state machine's and one per function instance): "
        f"an account with {point.automations} automations needs its IAM **Roles per account** quota raised from "
        f"1,000 to at least {roles:,} plus its other roles (about {int(1000 / per_automation)} automations fit the default)."
    ]
    if point.rules_on_default_bus > 0.8 * 300:
        lines.append(
            f"{point.rules_on_default_bus} rules listen on the default bus, over 80% of EventBridge's 300 rules per bus: "
            "raise **Number of rules** (L-244521F2) before adding more AWS-event automations."
        )
    else:
        lines.append(
            f"{point.rules_on_default_bus} rules listen on the default bus (EventBridge allows 300 per bus by default, "
            f"L-244521F2): about {int(300 * point.automations / max(point.rules_on_default_bus, 1))} automations of this "
            "mix fit before it must be raised."
        )
    return lines
