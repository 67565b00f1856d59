"""`keel catalog` shows each stack's quota figures; `keel stacks` gives the selectors `make deploy` and
`make diff` pass to the CDK CLI, and the pinned CLI resolves them to exactly the intended stacks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from infra.catalog import Catalog, load_catalog
from infra.config import load_environments
from infra.quotas import GUARD
from keel.cli import main
from tests.local.conftest import ROOT


def keel(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["--root", str(ROOT), *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_catalog_shows_every_stack_of_the_environment_with_its_figures(assembly: Path, capsys) -> None:
    # When the catalog is read for prod from a synthesized assembly
    code, out, _ = keel(capsys, "catalog", "--env", "prod", "--outdir", str(assembly), "--json")

    # Then it lists the platform stack, one stack per automation and one per team, platform first
    assert code == 0
    document = json.loads(out)
    stacks = {stack["stack"]: stack for stack in document["stacks"]}
    automations = [row["automation"] for row in document["automations"]]
    owners = {row["owner"] for row in document["automations"]}
    assert document["stacks"][0]["stack"] == "keel-prod-platform"
    assert set(stacks) == (
        {"keel-prod-platform"}
        | {f"keel-prod-automation-{name.replace('_', '-')}" for name in automations}
        | {f"keel-prod-team-{owner}" for owner in owners}
    )
    # And each with the figures the guard holds it to, all under its line
    for figures in stacks.values():
        assert figures["resources"] > 0
        assert figures["template_bytes"] > 0
        assert 0 < figures["fullest_quota_share"] <= GUARD

    # And the table shows them too
    code, out, _ = keel(capsys, "catalog", "--env", "prod", "--outdir", str(assembly))
    assert code == 0
    assert "stacks of prod (synth stops a stack above 80% of any quota):" in out
    assert any(line.startswith("keel-prod-platform ") for line in out.splitlines())


def catalog() -> Catalog:
    return load_catalog(ROOT, load_environments(ROOT / "config" / "environments.yaml"))


def team_automation_stacks(env: str, owner: str) -> list[str]:
    """`<env>/keel-<env>-automation-<name>` of every automation the team owns in the catalog."""
    owned = sorted(automation.name for automation in catalog().automations if automation.manifest.owner == owner)
    assert owned, f"{owner} owns no automation: the test needs a team that does"
    return [f"{env}/keel-{env}-automation-{name.replace('_', '-')}" for name in owned]


def test_stacks_names_an_environment_a_team_or_automations(capsys) -> None:
    assert keel(capsys, "stacks", "--env", "prod")[1].split() == ["prod/*"]
    _, out, _ = keel(capsys, "stacks", "--env", "prod", "--owner", "security-team")
    # The team's automation stacks (security_finding_response among them), then its dashboard stack
    expected = team_automation_stacks("prod", "security-team")
    assert "prod/keel-prod-automation-security-finding-response" in expected
    assert out.split() == [*expected, "prod/keel-prod-team-security-team"]
    _, out, _ = keel(capsys, "stacks", "--env", "dev", "--automation", "ticket_triage", "--automation", "platform_heartbeat")
    assert out.split() == ["dev/keel-dev-automation-platform-heartbeat", "dev/keel-dev-automation-ticket-triage"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--env", "prod", "--automation", "nope"], "unknown automation 'nope' (known: {automations})"),
        (["--env", "prod", "--owner", "nobody"], "unknown owner 'nobody' (owners: {owners})"),
        (["--env", "qa"], "unknown environment 'qa' (known: {environments})"),
    ],
)
def test_stacks_refuses_unknown_names_listing_the_known_ones(capsys, arguments, message) -> None:
    # Given what the catalog and the environment table hold
    automations = catalog().automations
    known = {
        "automations": ", ".join(sorted(automation.name for automation in automations)),
        "owners": ", ".join(sorted({automation.manifest.owner for automation in automations})),
        "environments": ", ".join(sorted(load_environments(ROOT / "config" / "environments.yaml").environments)),
    }
    assert "platform_heartbeat" in known["automations"]
    assert "platform-team" in known["owners"]

    # When a name none of them has is asked for / Then it is refused, listing them all
    code, _, err = keel(capsys, "stacks", *arguments)
    assert code == 2
    assert message.format(**known) in err


def cdk_ls(assembly: Path, selectors: list[str]) -> list[str]:
    """What the pinned CDK CLI selects (offline: it reads the assembly, it does not synthesize)."""
    environment = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true"}
    result = subprocess.run(
        ["npx", "--no-install", "cdk", "ls", "--no-notices", "--app", str(assembly), *selectors],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return sorted(line.split()[0] for line in result.stdout.splitlines() if line.strip())


def test_the_cdk_cli_deploys_a_teams_stacks_and_the_platform_they_depend_on(assembly: Path, capsys) -> None:
    # Given the selectors `make deploy ENV=prod OWNER=security-team` passes to the CLI
    _, out, _ = keel(capsys, "stacks", "--env", "prod", "--owner", "security-team")

    # When the pinned CDK CLI resolves them against the assembly
    # Then it takes the team's automation and dashboard stacks and the platform stack they depend on, nothing else
    assert cdk_ls(assembly, out.split()) == sorted(
        [*team_automation_stacks("prod", "security-team"), "prod/keel-prod-platform", "prod/keel-prod-team-security-team"]
    )
    # And the whole environment is every stack of prod
    everything = cdk_ls(assembly, ["prod/*"])
    assert "prod/keel-prod-platform" in everything
    assert len(everything) == len(
        json.loads(keel(capsys, "catalog", "--env", "prod", "--outdir", str(assembly), "--json")[1])["stacks"]
    )
