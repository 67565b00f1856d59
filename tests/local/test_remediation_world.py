"""events/<automation>/world.yaml: the resources sample events name, created before replay; and
`keel ops disable|enable|overrides` as an operator runs them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from keel.local.cloud import LocalCloud
from keel.local.errors import LocalCloudError
from keel.local.world import apply_worlds, load_world, template_variables, worlds_for
from keel.ops import overrides
from keel.ops.session import OpsError, OpsSession

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "world.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("calls: [", "not valid YAML"),
        ("calls: []", "calls: List should have at least 1 item"),
        ("calls: [{call: ec2.run_instances, ids: {ami: ami-1}}]", "cannot pin ami ids"),
        ("calls: [{call: RunInstances}]", "calls.0.call"),
    ],
    ids=["yaml", "empty", "unknown-id-kind", "bad-call"],
)
def test_a_bad_world_file_names_the_file_and_the_problem(tmp_path, text, message) -> None:
    # Given a broken world file / When loaded / Then the error names it and what is wrong
    path = write(tmp_path, text)
    with pytest.raises(LocalCloudError, match=message) as caught:
        load_world(path)
    assert str(path) in str(caught.value)


def test_a_missing_world_file_is_named(tmp_path) -> None:
    # Given no file / When loaded / Then it says it cannot read it
    with pytest.raises(LocalCloudError, match="cannot read the world file"):
        load_world(tmp_path / "world.yaml")


def test_each_directory_world_applies_once_and_ids_are_pinned(dev_template, tmp_path) -> None:
    # Given a world pinning a VPC id, next to two event files
    write(
        tmp_path, "calls:\n  - call: ec2.create_vpc\n    ids: {vpc: vpc-0123456789abcdef0}\n    args: {CidrBlock: 10.9.0.0/16}\n"
    )
    events = [tmp_path / "a.json", tmp_path / "b.json"]

    # When the worlds of both events are applied
    with LocalCloud(dev_template) as cloud:
        applied = apply_worlds(worlds_for(events), cloud.client, template_variables(dev_template.account, dev_template.region))
        vpcs = cloud.client("ec2").describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])["Vpcs"]

    # Then the file was applied once, and the VPC has the id the events would name
    assert applied.describe() == f"1 AWS calls from {(tmp_path / 'world.yaml').resolve()}"
    assert [vpc["CidrBlock"] for vpc in vpcs] == ["10.9.0.0/16"]


def test_a_failing_call_names_its_file_and_index(dev_template, tmp_path) -> None:
    # Given a world whose second call is refused by the API
    path = write(
        tmp_path,
        "calls:\n  - call: sqs.create_queue\n    args: {QueueName: ok}\n  - call: sqs.delete_queue\n    args: {QueueUrl: nope}\n",
    )

    # When applied / Then the error names the file, the call's index and the API's answer
    with LocalCloud(dev_template) as cloud, pytest.raises(LocalCloudError, match=r"calls\.1 \(sqs\.delete_queue\) failed"):
        apply_worlds([load_world(path)], cloud.client)


def test_operators_disable_enable_and_list_overrides(dev_template) -> None:
    # Given the local cloud and an operator session
    with LocalCloud(dev_template):
        session = OpsSession(environment="dev", region=dev_template.region)

        # When one runbook is disabled, then the automation disabled and enabled again
        said = overrides._change(
            session,
            argparse.Namespace(
                automation="alarm_remediation", runbook="sqs-dlq-redrive", disabled=True, reason="queue migration", json=False
            ),
        )
        overrides.change(session, "alarm_remediation", None, disabled=True, reason="incident 4711")
        overrides.change(session, "alarm_remediation", None, disabled=False, reason="incident over")
        listed, _ = overrides._list(session, argparse.Namespace(automation="alarm_remediation", json=True))

        # Then each change says what it stops, and the list shows the latest state of each scope with why
        assert said[0].startswith("alarm_remediation runbook sqs-dlq-redrive disabled: no action until enabled again")
        assert '"scope": "(automation)"' in listed
        assert '"state": "enabled"' in listed
        assert '"reason": "queue migration"' in listed
        # And an unknown automation or an empty reason is refused
        with pytest.raises(OpsError, match="unknown automation 'nope'"):
            overrides.change(session, "nope", None, disabled=True, reason="x")
        with pytest.raises(OpsError, match="--reason must say why"):
            overrides.change(session, "alarm_remediation", None, disabled=True, reason="  ")
        text, _ = overrides._list(session, argparse.Namespace(automation="security_finding_response", json=False))
        assert text == "no overrides"
