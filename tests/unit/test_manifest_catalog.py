"""automations/*.yaml: each bad manifest stops the catalog with one error naming the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.catalog import load_catalog
from infra.config import load_environments
from infra.errors import KeelConfigError

GOVERNANCE = ("owner", "oncall", "escalation", "approvers", "data_classification", "version")


def added(catalog: Any) -> Any:
    """The automation a test added (manifest_data's name), wherever it sorts among the repository's own."""
    return next(automation for automation in catalog.automations if automation.name == "sample_automation")


def rejected(temp_repo) -> KeelConfigError:
    """Load the temporary repository's catalog, which must fail with one single-line error."""
    with pytest.raises(KeelConfigError) as caught:
        temp_repo.load_catalog()
    error = caught.value
    assert str(error) == f"{error.path}: {error.field}: {error.message}"
    assert "\n" not in str(error)
    return error


def test_the_real_catalog_loads(repo_root: Path) -> None:
    # Given the repository as checked in
    environments = load_environments(repo_root / "config" / "environments.yaml")

    # When its catalog is loaded
    catalog = load_catalog(repo_root, environments)

    # Then every manifest is there with its parsed definition and the functions it uses
    assert [automation.name for automation in catalog.automations] == sorted(
        p.stem for p in (repo_root / "automations").glob("*.yaml")
    )
    heartbeat = next(a for a in catalog.automations if a.name == "platform_heartbeat")
    assert heartbeat.definition["StartAt"] == "EmitHeartbeat"
    used = {module for automation in catalog.automations for module in automation.manifest.functions}
    assert [spec.module for spec in catalog.functions_in_use()] == sorted(used)
    assert heartbeat in catalog.automations_using("emit_heartbeat")


def test_a_valid_extra_manifest_joins_the_catalog(temp_repo) -> None:
    # Given a second, valid automation that reuses emit_heartbeat
    temp_repo.add_automation()

    # When the catalog is loaded
    catalog = temp_repo.load_catalog()

    # Then the new automation is in it and the shared module is deployed once, for both users
    names = [automation.name for automation in catalog.automations]
    assert {"platform_heartbeat", "sample_automation"} <= set(names)
    assert names == sorted(names)
    assert [spec.module for spec in catalog.functions_in_use()].count("emit_heartbeat") == 1
    users = {automation.name for automation in catalog.automations_using("emit_heartbeat")}
    assert {"platform_heartbeat", "sample_automation"} <= users


@pytest.mark.parametrize("field", GOVERNANCE)
def test_a_manifest_without_a_governance_field_is_rejected(temp_repo, field) -> None:
    # Given a manifest that leaves out one governance field
    manifest = temp_repo.manifest_data()
    del manifest[field]
    path = temp_repo.add_automation(manifest)

    # When the catalog is loaded / Then the file and the missing field are named
    error = rejected(temp_repo)
    assert (error.path, error.field, error.message) == (str(path), field, "required field is missing")


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("version", "1.2", "should match pattern"),
        ("owner", "Platform Team", "team slug"),
        ("approvers", [], "at least 1 item"),
        ("approvers", ["platform-oncall", "platform-oncall"], "listed more than once: platform-oncall"),
        ("data_classification", "secret", "'public', 'internal', 'confidential' or 'restricted'"),
        ("escalation", "", "at least 1 character"),
    ],
)
def test_an_invalid_governance_value_is_rejected(temp_repo, field, value, complaint) -> None:
    # Given a manifest with an invalid governance value
    path = temp_repo.add_automation(temp_repo.manifest_data(**{field: value}))

    # When the catalog is loaded / Then the field and the problem are named
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), field)
    assert complaint in error.message


def test_an_unknown_function_module_is_rejected(temp_repo) -> None:
    # Given a manifest using a module that has no functions/<module>/function.yaml
    path = temp_repo.add_automation(temp_repo.manifest_data(functions=["emit_heartbeat", "classify_ticket"]))

    # When the catalog is loaded / Then the entry is named by position and the known modules listed
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), "functions.1")
    known = sorted(path.parent.name for path in (temp_repo.root / "functions").glob("*/function.yaml"))
    assert "emit_heartbeat" in known
    assert error.message == f"unknown function module 'classify_ticket' (known: {', '.join(known)})"


def known(names: Any) -> str:
    """How an error lists what the environment has: sorted, comma-separated, or none."""
    return ", ".join(sorted(names)) or "none"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (lambda route: {"oncall": route}, "oncall"),
        (lambda route: {"escalation": route}, "escalation"),
        (lambda route: {"approvers": ["platform-oncall", route]}, "approvers.1"),
    ],
)
def test_an_unknown_oncall_route_is_rejected(temp_repo, changes, field) -> None:
    # Given a manifest naming an on-call route the environment table does not define
    route = temp_repo.unused_name("oncall_routes", "storage-oncall")
    path = temp_repo.add_automation(temp_repo.manifest_data(**changes(route)))

    # When the catalog is loaded / Then the field, the route and the environment are named, with dev's routes
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), field)
    routes = temp_repo.load_environments().get("dev").oncall_routes
    assert "platform-oncall" in routes
    assert error.message == f"unknown on-call route '{route}' in environment 'dev' (known: {known(routes)})"


def test_a_route_missing_from_one_environment_only_is_rejected_for_that_environment(temp_repo) -> None:
    # Given a route that exists in dev and staging but not in prod
    route = temp_repo.unused_name("oncall_routes", "storage-oncall")
    data = temp_repo.environments_data()
    for name in ("dev", "staging"):
        data["environments"][name]["oncall_routes"][route] = {
            "subscriptions": [{"protocol": "email", "endpoint": f"storage-{name}@example.com"}]
        }
    temp_repo.write_environments(data)
    temp_repo.add_automation(temp_repo.manifest_data(oncall=route))

    # When the catalog is loaded / Then prod is the environment named
    error = rejected(temp_repo)
    assert error.field == "oncall"
    assert "in environment 'prod'" in error.message


def test_an_unknown_secret_is_rejected(temp_repo) -> None:
    # Given a manifest that declares a secret no environment's secret catalog has
    secret = temp_repo.unused_name("secrets", "github-token")
    path = temp_repo.add_automation(temp_repo.manifest_data(secrets=[secret]))

    # When the catalog is loaded / Then the secret is named by position, with dev's secrets
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), "secrets.0")
    secrets = temp_repo.load_environments().get("dev").secrets
    assert error.message == f"unknown secret '{secret}' in environment 'dev' (known: {known(secrets)})"


def test_an_unknown_secret_in_an_environment_without_secrets_lists_none(temp_repo) -> None:
    # Given environments without secrets, and only the manifest that declares one (the repository's own
    # manifests may use secrets those environments no longer have)
    for manifest in (temp_repo.root / "automations").glob("*.yaml"):
        manifest.unlink()
    data = temp_repo.environments_data()
    for env in data["environments"].values():
        env["secrets"] = {}
        env.pop("apis", None)  # an API's credential is a secret: without secrets, no APIs
    temp_repo.write_environments(data)
    temp_repo.add_automation(temp_repo.manifest_data(secrets=["github-token"]))

    # When the catalog is loaded / Then the error says the environment has none
    error = rejected(temp_repo)
    assert error.message == "unknown secret 'github-token' in environment 'dev' (known: none)"


def test_a_name_too_long_for_aws_in_one_environment_is_rejected(temp_repo) -> None:
    # Given the longest name a manifest allows, on a schedule: its rule keel-staging-<name>-schedule
    # is 71 characters, and EventBridge takes 64
    name = "a" + "b" * 48
    manifest = temp_repo.manifest_data(
        name=name,
        trigger={"schedule": "rate(5 minutes)"},
        workflow={"definition": f"{name}.asl.json", "type": "standard", "timeout_seconds": 60},
    )
    path = temp_repo.add_automation(manifest)

    # When the catalog is loaded / Then the name is rejected, saying which name and where
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), "name")
    assert error.message == (f"'keel-dev-{name}-schedule' is longer than AWS allows (64 characters) in environment 'dev'")


def test_a_secret_in_every_environment_is_accepted(temp_repo) -> None:
    # Given the secret is in every environment's catalog, beside those the repository's automations declare
    secret = temp_repo.unused_name("secrets", "github-token")
    data = temp_repo.environments_data()
    for env in data["environments"].values():
        env["secrets"] = {**(env.get("secrets") or {}), secret: {"description": "GitHub App token for the sample automation"}}
    temp_repo.write_environments(data)
    temp_repo.add_automation(temp_repo.manifest_data(secrets=[secret]))

    # When the catalog is loaded / Then the manifest keeps its secret
    catalog = temp_repo.load_catalog()
    assert added(catalog).manifest.secrets == [secret]


WAITING_TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters": {"FunctionName": "${emit_heartbeat}", "Payload": {"token.$": "$$.Task.Token"}},
    "End": True,
}


def test_an_express_workflow_that_waits_for_a_task_token_is_rejected(temp_repo) -> None:
    # Given an express workflow whose Parallel branch pauses for a task token
    manifest = temp_repo.manifest_data(
        workflow={"definition": "sample_automation.asl.json", "type": "express", "timeout_seconds": 60}
    )
    asl = {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel",
                "End": True,
                "Branches": [{"StartAt": "AwaitApproval", "States": {"AwaitApproval": WAITING_TASK}}],
            }
        },
    }
    path = temp_repo.add_automation(manifest, asl)

    # When the catalog is loaded / Then the workflow type is named with the waiting state
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), "workflow.type")
    assert "express workflows cannot wait for a task token" in error.message
    assert "state 'AwaitApproval'" in error.message


def test_a_standard_workflow_may_wait_for_a_task_token(temp_repo) -> None:
    # Given the same waiting state in a standard workflow
    temp_repo.add_automation(asl={"StartAt": "AwaitApproval", "States": {"AwaitApproval": WAITING_TASK}})

    # When the catalog is loaded / Then it is accepted
    assert added(temp_repo.load_catalog()).manifest.workflow.type == "standard"


def test_an_express_workflow_longer_than_five_minutes_is_rejected(temp_repo) -> None:
    # Given an express workflow with a 10-minute timeout
    manifest = temp_repo.manifest_data(
        workflow={"definition": "sample_automation.asl.json", "type": "express", "timeout_seconds": 600}
    )
    temp_repo.add_automation(manifest)

    # When the catalog is loaded / Then the workflow is named with the limit
    error = rejected(temp_repo)
    assert error.field == "workflow"
    assert "express workflows run at most 300 seconds" in error.message


def test_an_asl_file_that_is_not_json_is_rejected(temp_repo) -> None:
    # Given an ASL file with a syntax error on line 2
    temp_repo.add_automation(asl='{"StartAt": "Beat",\n  "States": {,}}')

    # When the catalog is loaded / Then the ASL file is named and the JSON problem located
    error = rejected(temp_repo)
    assert error.path == str(temp_repo.root / "statemachines" / "sample_automation.asl.json")
    assert error.field == "(document)"
    assert error.message.startswith("not valid JSON:")
    assert "line 2" in error.message


def test_a_missing_asl_file_is_rejected(temp_repo) -> None:
    # Given a manifest whose ASL file does not exist
    temp_repo.write_manifest(temp_repo.manifest_data())

    # When the catalog is loaded / Then the manifest, its field and the missing file are named
    error = rejected(temp_repo)
    assert error.path.endswith("automations/sample_automation.yaml")
    assert error.field == "workflow.definition"
    assert error.message == "statemachines/sample_automation.asl.json does not exist"


def test_an_asl_substitution_no_function_provides_is_rejected(temp_repo) -> None:
    # Given an ASL file invoking ${classify_ticket}, which the manifest does not list
    asl = temp_repo.asl_data()
    asl["States"]["Beat"]["Parameters"]["FunctionName"] = "${classify_ticket}"
    path = temp_repo.add_automation(asl=asl)

    # When the catalog is loaded / Then the manifest's functions field is named with the substitution
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), "functions")
    assert "statemachines/sample_automation.asl.json references ${classify_ticket}" in error.message
    assert error.message.endswith("; functions: emit_heartbeat, record_decision)")


def test_platform_substitutions_need_no_function(temp_repo) -> None:
    # Given an ASL file that uses the platform's approvals table and on-call topic
    temp_repo.add_automation(asl=_asl_writing("${KeelApprovalsTable}", temp_repo))

    # When the catalog is loaded / Then it is accepted
    assert added(temp_repo.load_catalog()).definition["States"]["Record"]["Type"] == "Task"


def test_a_workflow_writing_the_decisions_table_itself_is_rejected(temp_repo) -> None:
    # Given an ASL file that puts an item in the decisions table, around its one writer
    temp_repo.add_automation(asl=_asl_writing("${KeelDecisionsTable}", temp_repo))

    # When the catalog is loaded / Then it is refused, naming the writer to use
    error = rejected(temp_repo)
    assert error.field == "functions"
    assert "references ${KeelDecisionsTable}: a workflow records decisions through ${record_decision}" in error.message


def _asl_writing(table: str, temp_repo) -> dict:
    asl = temp_repo.asl_data()
    asl["States"]["Beat"]["Next"] = "Record"
    del asl["States"]["Beat"]["End"]
    asl["States"]["Record"] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": table, "Item": {"pk": {"S": "x"}, "sk": {"S": "${KeelOncallTopic}"}}},
        "End": True,
    }
    return asl


def test_a_manifest_whose_name_does_not_match_its_file_is_rejected(temp_repo) -> None:
    # Given sample_automation.yaml declaring the name other_automation
    temp_repo.write_asl("sample_automation.asl.json", temp_repo.asl_data())
    path = temp_repo.write_manifest(temp_repo.manifest_data(name="other_automation"), file_name="sample_automation.yaml")

    # When the catalog is loaded / Then the name field is named with both names
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), "name")
    assert error.message == "'other_automation' must match the file name 'sample_automation'"


def test_an_unknown_event_pattern_key_is_rejected(temp_repo) -> None:
    # Given an event pattern that spells detail-type with an underscore
    trigger = {"event_pattern": {"source": ["keel.test"], "detail_type": ["Sample Happened"]}}
    path = temp_repo.add_automation(temp_repo.manifest_data(trigger=trigger))

    # When the catalog is loaded / Then the pattern is named with the bad key and the valid ones
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), "trigger.event_pattern")
    assert error.message.startswith("unknown event field(s) detail_type (fields: source, detail-type, detail,")


@pytest.mark.parametrize(
    ("trigger", "complaint"),
    [
        ({"event_pattern": {"source": "keel.test"}}, "trigger.event_pattern.source: must be a list"),
        ({"event_pattern": {}}, "trigger.event_pattern: must not be empty"),
        ({"bus": "keel"}, "needs an event_pattern, a schedule, or both"),
        ({"schedule": "every 5 minutes"}, "should match pattern"),
        ({"schedule": "rate(5 minutes)", "retry_attempts": 500}, "less than or equal to 185"),
    ],
)
def test_other_bad_triggers_are_rejected(temp_repo, trigger, complaint) -> None:
    # Given a manifest with a malformed trigger
    temp_repo.add_automation(temp_repo.manifest_data(trigger=trigger))

    # When the catalog is loaded / Then the trigger (or the field inside it) is named with the problem
    error = rejected(temp_repo)
    assert error.field.startswith("trigger")
    assert complaint in f"{error.field}: {error.message}"


def test_a_misspelt_required_field_is_reported_as_missing(temp_repo) -> None:
    # Given a manifest with a typo in the owner field
    manifest = temp_repo.manifest_data()
    manifest["onwer"] = manifest.pop("owner")
    temp_repo.add_automation(manifest)

    # When the catalog is loaded / Then the field the platform needs is the one named
    error = rejected(temp_repo)
    assert (error.field, error.message) == ("owner", "required field is missing")


def test_a_misspelt_optional_field_is_rejected(temp_repo) -> None:
    # Given a manifest with a typo in an optional field (which would otherwise be silently ignored)
    temp_repo.add_automation(temp_repo.manifest_data(limts={"dry_run": True}))

    # When the catalog is loaded / Then the unknown field is named
    error = rejected(temp_repo)
    assert (error.field, error.message) == ("limts", "unknown field (check the spelling)")


def test_a_reserved_state_name_is_rejected(temp_repo) -> None:
    # Given an ASL file that uses the prologue's state name
    asl = {"StartAt": "KeelClaimEvent", "States": {"KeelClaimEvent": {"Type": "Succeed"}}}
    path = temp_repo.add_automation(asl=asl)

    # When the catalog is loaded / Then the definition is named with the reserved state
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), "workflow.definition")
    assert "state name 'KeelClaimEvent' is reserved" in error.message


def test_a_state_named_like_keels_claim_releases_is_rejected(temp_repo) -> None:
    # Given an ASL file with a state named as Keel names the release before a Fail state
    asl = {"StartAt": "KeelReleaseClaimStop", "States": {"KeelReleaseClaimStop": {"Type": "Succeed"}}}
    path = temp_repo.add_automation(asl=asl)

    # When the catalog is loaded / Then the name is refused, saying whose it is
    error = rejected(temp_repo)
    assert (error.path, error.field) == (str(path), "workflow.definition")
    assert "state names starting 'KeelReleaseClaim' are Keel's" in error.message


def test_a_heartbeat_on_a_function_the_automation_does_not_use_is_rejected(temp_repo) -> None:
    # Given a heartbeat SLO on a module the manifest does not list
    slo = {
        "success_rate_percent": 99,
        "p90_duration_seconds": 5,
        "heartbeat": {"function": "other_fn", "metric": "Beat", "max_silence_minutes": 10},
    }
    temp_repo.add_automation(temp_repo.manifest_data(slo=slo))

    # When the catalog is loaded / Then the heartbeat's function is named
    error = rejected(temp_repo)
    assert error.field == "slo.heartbeat.function"
    assert "'other_fn' is not one of this automation's functions" in error.message


def test_an_override_for_an_unknown_environment_is_rejected(temp_repo) -> None:
    # Given a per-environment override for an environment the table does not have
    temp_repo.add_automation(temp_repo.manifest_data(environments={"qa": {"enabled": False}}))

    # When the catalog is loaded / Then the override is named
    error = rejected(temp_repo)
    assert error.field == "environments.qa"
    assert "no environment 'qa'" in error.message


@pytest.mark.parametrize(
    ("text", "complaint"), [("- just\n- a list\n", "must be a YAML mapping"), ("name: [unclosed\n", "cannot read YAML")]
)
def test_a_manifest_that_is_not_a_mapping_is_rejected(temp_repo, text, complaint) -> None:
    # Given a manifest file that is a list, or broken YAML
    path = temp_repo.write_manifest(text, file_name="sample_automation.yaml")

    # When the catalog is loaded / Then the file is named as a whole
    with pytest.raises(KeelConfigError) as caught:
        temp_repo.load_catalog()
    assert (caught.value.path, caught.value.field) == (str(path), "(document)")
    assert complaint in caught.value.message


def test_overrides_resolve_per_environment(temp_repo) -> None:
    # Given an automation that needs approval and runs dry in prod only, and is disabled in dev
    overrides = {"prod": {"approval_required": True, "limits": {"dry_run": True}}, "dev": {"enabled": False}}
    temp_repo.add_automation(temp_repo.manifest_data(environments=overrides))
    manifest = added(temp_repo.load_catalog()).manifest

    # When its settings are resolved per environment
    dev, staging, prod = (manifest.resolved_for(name) for name in ("dev", "staging", "prod"))

    # Then each environment gets its override, and staging the defaults
    assert (dev.enabled, dev.approval_required, dev.limits.dry_run) == (False, None, False)
    assert (staging.enabled, staging.approval_required, staging.limits.dry_run) == (True, None, False)
    assert (prod.enabled, prod.approval_required, prod.limits.dry_run) == (True, True, True)


def test_a_manifest_naming_an_api_that_does_not_let_it_call_is_rejected(temp_repo) -> None:
    # Given a manifest naming the CRM, which only user_onboarding may call, and one naming no such API
    temp_repo.add_automation(temp_repo.manifest_data(apis=["crm"]))

    # When the catalog is loaded / Then the error names the API and who may call it
    error = rejected(temp_repo)
    assert error.field == "apis.0"
    assert error.message == (
        "API 'crm' in environment 'dev' does not let 'sample_automation' call it (its automations: user_onboarding)"
    )


def test_a_manifest_naming_an_unknown_api_lists_the_known_ones(temp_repo) -> None:
    temp_repo.add_automation(temp_repo.manifest_data(apis=["crn"]))

    error = rejected(temp_repo)
    assert (error.field, error.message) == ("apis.0", "unknown API 'crn' in environment 'dev' (known: billing, crm)")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"base_url": "http://crm.example.com"}, "base_url", "must start with https:// (Keel calls APIs over TLS only)"),
        ({"auth": {"kind": "api_key", "secret": "no-such-secret"}}, "", "apis.crm.auth.secret: 'no-such-secret' is not one of"),
        ({"auth": {"kind": "token", "secret": "crm-api-key"}}, "auth.kind", "Input should be 'api_key', 'basic' or"),
    ],
)
def test_an_api_declaration_that_cannot_be_called_safely_stops_synth(
    temp_repo, change: dict[str, Any], field: str, message: str
) -> None:
    # Given the CRM's declaration in dev with one mistake
    data = temp_repo.environments_data()
    data["environments"]["dev"]["apis"]["crm"].update(change)
    temp_repo.write_environments(data)

    # When the environment table is read / Then one line names the field and what is wrong
    with pytest.raises(KeelConfigError) as caught:
        load_environments(temp_repo.environments_path)
    assert field in caught.value.field
    assert message in caught.value.message
