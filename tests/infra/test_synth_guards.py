"""What synth enforces: cdk-nag, cfn-lint, no AWS calls, and `python app.py` failing cleanly on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import boto3
import pytest
from aws_cdk import aws_sqs as sqs
from cfnlint.api import lint

from infra.app_builder import ROOT
from infra.config import load_environments

ENVIRONMENTS = load_environments(ROOT / "config" / "environments.yaml")


def test_the_real_app_synthesizes_with_no_unacknowledged_nag_finding(synthesized) -> None:
    # Given the session's synth of every environment (a nag finding would have raised ValidationFailed)
    report = synthesized.outdir / "validation-report.json"

    # Then the validation plugins ran (they write the report) and none concluded with a failure
    failures = [plugin for plugin in json.loads(report.read_text())["pluginReports"] if plugin["conclusion"] != "success"]
    assert failures == []
    assert set(synthesized.templates) == set(ENVIRONMENTS.environments)


def test_a_non_compliant_construct_fails_synth(temp_repo) -> None:
    # Given the app for dev with an unencrypted queue without a DLQ added to one automation's stack
    keel = temp_repo.build_app(["dev"])
    sqs.Queue(keel.environments["dev"].automations["platform_heartbeat"], "Unencrypted")

    # When it is synthesized / Then cdk-nag stops synth
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        keel.app.synth()

    # And the report names the rules of both packs, on that construct alone
    report = json.loads((temp_repo.outdir / "validation-report.json").read_text())
    violations = {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert ("AwsSolutions-SQS4", "dev/keel-dev-automation-platform-heartbeat/Unencrypted/Resource") in violations
    assert ("Serverless-SQSRedrivePolicy", "dev/keel-dev-automation-platform-heartbeat/Unencrypted/Resource") in violations
    assert {path for _, path in violations} == {"dev/keel-dev-automation-platform-heartbeat/Unencrypted/Resource"}


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS.environments))
def test_cfn_lint_reports_no_errors(synthesized, env, capsys) -> None:
    # Given each stack an environment deploys (CloudFormation's quotas, such as 500 resources, are per stack)
    for stack_name, template in sorted(synthesized.stacks[env].items()):
        # When cfn-lint checks it for the environment's region
        matches = lint(json.dumps(template), regions=[ENVIRONMENTS.get(env).region])

        # Then it reports no error (warnings and informational findings are printed, not failed)
        with capsys.disabled():
            for match in matches:
                print(f"\ncfn-lint {stack_name}: {match.rule.id} {match.message}")
        errors = [f"{match.rule.id} {match.message}" for match in matches if match.rule.id.startswith("E")]
        assert errors == [], stack_name


def test_cfn_lint_would_report_a_broken_template(synthesized) -> None:
    # Given the dev template with a resource property CloudFormation does not know
    template = json.loads(json.dumps(synthesized.template("dev")))
    next(r for r in template["Resources"].values() if r["Type"] == "AWS::SQS::Queue")["Properties"]["Encrypted"] = True

    # When cfn-lint checks it / Then it reports an error
    assert any(match.rule.id.startswith("E") for match in lint(json.dumps(template), regions=["eu-west-1"]))


def test_synth_makes_no_aws_call(synthesized) -> None:
    # Given the session's synth ran with botocore calls and internet sockets refused and recorded
    # Then nothing was attempted, and the assembly needs no context lookup (which `cdk synth` does against AWS)
    assert synthesized.outside_calls == []
    for manifest in synthesized.outdir.rglob("manifest.json"):
        assert "missing" not in json.loads(manifest.read_text()), manifest


def test_the_guard_would_have_caught_an_aws_call(outside_call_guard) -> None:
    # Given the guard the session synth runs under
    # When something calls AWS / Then it is refused and recorded
    with outside_call_guard() as outside, pytest.raises(RuntimeError, match="AWS call GetCallerIdentity attempted"):
        boto3.client("sts").get_caller_identity()
    assert outside.calls == ["botocore GetCallerIdentity"]


def test_app_py_exits_non_zero_with_one_message_naming_file_and_field(temp_repo) -> None:
    # Given a repository whose only new manifest has no owner (app.py and infra/ copied beside it)
    shutil.copy2(ROOT / "app.py", temp_repo.root / "app.py")
    shutil.copytree(ROOT / "infra", temp_repo.root / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    manifest = temp_repo.manifest_data()
    del manifest["owner"]
    path = temp_repo.add_automation(manifest)

    # When `python app.py` runs there, as `make synth` does
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=temp_repo.root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**_environ(), "CDK_OUTDIR": str(temp_repo.outdir)},
        check=False,
    )

    # Then it exits 1 with exactly one line naming the manifest and the field, and synthesizes nothing
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [f"keel: invalid configuration: {path}: owner: required field is missing"]
    assert result.stdout == ""
    assert not temp_repo.outdir.exists()


def _environ() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith(("COV_", "PYTEST_"))}


def test_every_synthesized_state_machine_is_valid_asl(synthesized) -> None:
    # Given every state machine of every environment as it deploys: the team's states behind Keel's prologue
    from infra.asl_validation import validate_definition

    for env, template in synthesized.templates.items():
        machines = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
        assert machines, env

        # Then each passes the States Language checks its ASL file passed at load
        for machine in machines:
            definition = json.loads(machine["DefinitionString"])
            assert definition["StartAt"] == "KeelClaimEvent"
            validate_definition(f"{env}: {machine['StateMachineName']}", definition)
