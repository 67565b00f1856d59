"""The quota guard: synth stops, in one line naming the stack and the figure, above 80% of a quota;
and a generated catalog of 40 automations stays under the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import EnvironmentTable
from infra.quotas import GUARD, QUOTAS, QuotaExceeded, StackFigures, check, figures_of
from keel.bench.generated_catalog import generate_catalog
from keel.local.template import is_stale
from tests.conftest import REPO_ROOT


def write(tmp_path: Path, template: dict[str, Any], name: str = "stack.template.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(template))
    return path


def queue(index: int) -> dict[str, Any]:
    return {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"q{index}"}}


def dashboard(widgets: int, metrics_per_widget: int = 1) -> dict[str, Any]:
    widget = {"type": "metric", "properties": {"region": "REGION", "metrics": [["AWS/SQS", "x"]] * metrics_per_widget}}
    before, after = json.dumps({"widgets": [widget] * widgets}).split("REGION", 1)
    # As the CDK writes a body: literal parts and tokens (here the region) joined
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardBody": {"Fn::Join": ["", [before, {"Ref": "AWS::Region"}, after.replace("REGION", "eu-west-1")]]}
        },
    }


@pytest.mark.parametrize(
    ("template", "figure", "value"),
    [
        ({"Resources": {f"Q{i}": queue(i) for i in range(401)}}, "resources", 401),
        ({"Resources": {"Q": queue(0)}, "Outputs": {f"O{i}": {"Value": "x"} for i in range(161)}}, "outputs", 161),
        ({"Resources": {"Q": queue(0)}, "Parameters": {f"P{i}": {"Type": "String"} for i in range(161)}}, "parameters", 161),
        ({"Resources": {"Q": queue(0)}, "Mappings": {f"M{i}": {"a": {"b": "c"}} for i in range(161)}}, "mappings", 161),
        (
            {"Resources": {f"Q{i}": {**queue(i), "Properties": {"QueueName": "{{resolve:ssm:/x}}"}} for i in range(49)}},
            "dynamic references",
            49,
        ),
        ({"Resources": {"D": dashboard(401)}}, "dashboard widgets", 401),
        ({"Resources": {"D": dashboard(1, 401)}}, "widget metrics", 401),
        ({"Resources": {"Q": {**queue(0), "Metadata": {"padding": "x" * 800_001}}}}, "template bytes", None),
    ],
    ids=["resources", "outputs", "parameters", "mappings", "dynamic-references", "widgets", "widget-metrics", "bytes"],
)
def test_a_stack_over_the_line_on_any_quota_stops_synth_in_one_line(tmp_path, template, figure, value) -> None:
    # Given a synthesized stack just over 80% of one quota
    figures = figures_of("keel-dev-automation-big", write(tmp_path, template))

    # When the guard checks it / Then it stops synth with one line naming the stack, the figure and the quota
    with pytest.raises(QuotaExceeded) as stopped:
        check([figures])
    message = str(stopped.value)
    assert "\n" not in message
    assert message.startswith(f"stack keel-dev-automation-big: {figure} ")
    if value is not None:
        assert f"{figure} {value:,} is " in message
    assert "the guard stops synth above 80%" in message
    assert "https://docs.aws.amazon.com/" in message


def test_a_stack_at_the_line_passes_and_its_figures_are_counted(tmp_path) -> None:
    # Given a stack with exactly 80% of the resources quota, a dashboard and a dynamic reference
    resources = {f"Q{i}": queue(i) for i in range(398)}
    resources["D"] = dashboard(3, 2)
    resources["S"] = {**queue(999), "Properties": {"QueueName": "{{resolve:ssm:/name}}"}}
    figures = figures_of("keel-dev-automation-ok", write(tmp_path, {"Resources": resources, "Parameters": {"P": {}}}))

    # Then the guard lets it through and reports what it counted
    check([figures])
    assert (figures.resources, figures.parameters, figures.dynamic_references) == (400, 1, 1)
    assert (figures.dashboard_widgets, figures.widget_metrics) == (3, 2)
    assert figures.dashboard_bytes > 0
    assert figures.headroom() == pytest.approx(GUARD)


def test_the_worst_stack_is_named_first(tmp_path) -> None:
    small = figures_of("small", write(tmp_path, {"Resources": {f"Q{i}": queue(i) for i in range(420)}}, "a.json"))
    big = figures_of("big", write(tmp_path, {"Resources": {f"Q{i}": queue(i) for i in range(480)}}, "b.json"))
    with pytest.raises(QuotaExceeded, match=r"^stack big: resources 480 is 96% .* \(and 1 more\)$"):
        check([small, big])


def test_every_quota_cites_the_aws_page_it_comes_from() -> None:
    assert {quota.figure for quota in QUOTAS} == set(StackFigures.__dataclass_fields__) - {"stack", "dashboard_bytes"}
    assert all(quota.source.startswith("https://docs.aws.amazon.com/") for quota in QUOTAS)


def test_an_automation_too_big_for_its_stack_stops_synth_naming_it(temp_repo) -> None:
    # Given an automation declaring 420 alarms (each an AWS::CloudWatch::Alarm in its stack)
    alarms = [
        {
            "name": f"alarm-{index:03d}",
            "description": "one of many",
            "function": "emit_heartbeat",
            "metric": "Heartbeat",
            "statistic": "Sum",
            "threshold": 1,
            "comparison": "less_than",
            "period_minutes": 5,
        }
        for index in range(410)
    ]
    temp_repo.add_automation(temp_repo.manifest_data(alarms=alarms))

    # When dev is synthesized / Then the guard stops it, naming that automation's stack and its resources
    with pytest.raises(QuotaExceeded, match=r"^stack keel-dev-automation-sample-automation: resources 4\d\d is 8\d%"):
        temp_repo.synthesize(["dev"])
    # And the assembly it refused cannot be deployed: its manifests are gone, so it reads as not synthesized
    assert not (temp_repo.outdir / "manifest.json").exists()
    assert not (temp_repo.outdir / "assembly-dev" / "manifest.json").exists()
    assert is_stale(temp_repo.outdir, "dev", temp_repo.root)


def test_a_generated_catalog_of_40_automations_stays_under_the_guard(tmp_path, synthesized) -> None:
    # Given 40 automations varied from the real ones, ten per team, synthesized for dev (the guard runs in synthesize)
    from infra.app_builder import build_app
    from infra.config import load_environments
    from infra.synthesis import synthesize

    repo = generate_catalog(REPO_ROOT, tmp_path / "repo", 40)
    dev = EnvironmentTable(environments={"dev": load_environments(repo / "config" / "environments.yaml").get("dev")})
    keel = build_app(root=repo, outdir=str(tmp_path / "cdk.out"), environments=dev)
    figures = synthesize(keel)["dev"]

    # Then it is a platform stack, 40 automation stacks and 4 team stacks, each under 80% of every quota
    assert len(figures) == 1 + 40 + 4
    assert max(stack.headroom() for stack in figures) <= GUARD
    # And the platform stack is the one the real catalog of 4 automations has: it does not grow
    platform = json.loads((tmp_path / "cdk.out" / "assembly-dev" / keel.environments["dev"].platform.template_file).read_text())
    assert platform == synthesized.stacks["dev"]["keel-dev-platform"]
