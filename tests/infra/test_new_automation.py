"""Adding an automation needs only a manifest, an ASL file and function modules: no CDK code."""

from __future__ import annotations

import json

import dashboard_checks as dash
import pytest
import template_checks as checks

from tests.conftest import merged

NEW = "ticket_intake"
ROTATOR = "arn:aws:lambda:eu-west-1:333333333333:function:rotate-tickets-token"
# The shared function, then the platform's approvals table and the owner's on-call topic (a workflow never
# writes the decisions table: it records through record_decision).
ASL = {
    "StartAt": "Beat",
    "States": {
        "Beat": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${emit_heartbeat}", "Payload.$": "$"},
            "Next": "Record",
        },
        "Record": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "${KeelApprovalsTable}", "Item": {"pk": {"S.$": "$.id"}, "sk": {"S": "intake"}}},
            "Next": "Tell",
        },
        "Tell": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "${KeelOncallTopic}", "Message.$": "$.id"},
            "End": True,
        },
    },
}
PATTERN = {"source": ["keel.tickets"], "detail-type": ["Ticket Opened"], "detail": {"priority": [{"anything-but": "low"}]}}


@pytest.fixture(scope="module")
def extended(tmp_path_factory, make_temp_repo) -> tuple:
    """A repository with a second automation: another team, confidential data, the shared heartbeat function."""
    repo = make_temp_repo(tmp_path_factory.mktemp("extended") / "repo")
    # The new team's on-call route, in every environment
    table = repo.environments_data()
    for name, env in table["environments"].items():
        env["oncall_routes"]["tickets-oncall"] = {
            "subscriptions": [{"protocol": "email", "endpoint": f"tickets-{name}@example.com"}]
        }
        # and its credential, beside the catalog's own; prod rotates it with a rotation function of its own
        env["secrets"] = {**(env.get("secrets") or {}), "tickets-token": {"description": "API token of the ticketing system"}}
    table["environments"]["prod"]["secrets"]["tickets-token"]["rotation_lambda_arn"] = ROTATOR
    repo.write_environments(table)
    # One manifest and one ASL file: nothing else
    manifest = repo.manifest_data(
        name=NEW,
        owner="tickets-team",
        oncall="tickets-oncall",
        escalation="platform-oncall",
        approvers=["tickets-oncall"],
        data_classification="confidential",
        confidential_text=[],  # its events carry no customer text
        trigger={"bus": "keel", "event_pattern": PATTERN, "retry_attempts": 4, "max_event_age_seconds": 900},
        workflow={"definition": f"{NEW}.asl.json", "type": "standard", "timeout_seconds": 300},
        environments={"dev": {"enabled": False}},
        secrets=["tickets-token"],
    )
    repo.add_automation(manifest, asl=ASL)
    repo.stacks = repo.synthesize_stacks()
    templates = {env: merged(stacks) for env, stacks in repo.stacks.items()}
    return repo, repo.load_environments(), repo.load_catalog(), templates


def test_a_new_automation_gets_its_rule_state_machine_and_alarms_in_every_environment(extended) -> None:
    # Given a repository with a new manifest + ASL file reusing emit_heartbeat, owned by another team
    _, environments, catalog, templates = extended

    # When the app is synthesized
    # Then every automation, old and new, passes the same checks in every environment
    assert {"platform_heartbeat", NEW} <= {automation.name for automation in catalog.automations}
    for env, template in templates.items():
        for automation in catalog.automations:
            checks.check_automation(template, environments.get(env), automation, catalog)
        checks.check_functions(template, environments.get(env), catalog)


def test_a_new_automation_is_on_its_teams_dashboard_and_leaves_the_platform_dashboard_as_it_was(extended, synthesized) -> None:
    # Given the repository with the new automation, synthesized, and the real one
    repo, environments, _, templates = extended
    stacks = repo.stacks

    for env, template in templates.items():
        # Then the new team has a stack with a dashboard naming the new automation
        team = stacks[env][f"keel-{env}-team-tickets-team"]
        (dashboard,) = checks.resources(team, "AWS::CloudWatch::Dashboard").values()
        assert NEW in json.dumps(dashboard)
        # And the platform dashboard is the one the repository without it synthesizes: it names no
        # automation (the platform stack itself changed here only for the new route and secret)
        platform = f"keel-{env}-platform"
        assert dash.platform_dashboard_resource(stacks[env][platform], env) == dash.platform_dashboard_resource(
            synthesized.stacks[env][platform], env
        )
        dash.check_platform_dashboard(template, environments.get(env))
        checks.check_iam(template)


def test_the_new_rule_listens_on_the_keel_bus_with_the_manifest_pattern(extended) -> None:
    # Given the synthesized dev template
    _, _, _, templates = extended
    template = templates["dev"]

    # Then the new automation's rule matches the pattern as written, on the keel bus (by name)
    (rule,) = checks.rules_of(template, NEW).values()
    assert rule["Properties"]["EventPattern"] == PATTERN
    assert rule["Properties"]["EventBusName"] == "keel-dev"


def test_each_automation_runs_its_own_instance_of_a_shared_module_paging_its_own_team(extended) -> None:
    # Given both automations use emit_heartbeat
    _, _, _, templates = extended
    template = templates["prod"]
    environment = extended[1].get("prod")

    # Then each has its own function for it, invoked by its own state machine only
    functions = checks.resources(template, "AWS::Lambda::Function").values()
    handlers = [function["Properties"]["Handler"] for function in functions]
    assert handlers.count("functions.emit_heartbeat.handler.lambda_handler") == 2
    for automation, route in (("platform_heartbeat", "platform-oncall"), (NEW, "tickets-oncall")):
        function = checks.function_id(template, "prod", automation, "emit_heartbeat")
        machine = checks.properties(template, checks.state_machine_id(template, "prod", automation))
        version = machine["DefinitionSubstitutions"]["emit_heartbeat"]["Ref"]
        assert checks.properties(template, version)["FunctionName"] == {"Ref": function}
        # And its error alarms page that automation's team, no other
        alarms = checks.alarms_on(template, function).values()
        assert alarms
        for alarm in alarms:
            assert [checks.text(action) for action in alarm["AlarmActions"]] == [checks.topic_arn(environment, route)]
    # And the new automation's own alarms page its team only
    machine = checks.state_machine_id(template, "prod", NEW)
    for alarm in checks.alarms_on(template, machine).values():
        assert [checks.text(action) for action in alarm["AlarmActions"]] == [checks.topic_arn(environment, "tickets-oncall")]


def test_confidential_data_is_kept_out_of_execution_logs(extended) -> None:
    # Given an internal automation and a confidential one
    _, _, _, templates = extended

    # Then only the internal one logs execution data, in every environment
    for env, template in templates.items():
        logging = {
            name: checks.properties(template, checks.state_machine_id(template, env, name))["LoggingConfiguration"]
            for name in ("platform_heartbeat", NEW)
        }
        assert logging["platform_heartbeat"]["IncludeExecutionData"] is True
        assert logging[NEW]["IncludeExecutionData"] is False
        assert logging[NEW]["Level"] == "ALL"


def test_an_override_disables_the_rule_in_one_environment_only(extended) -> None:
    # Given the new manifest disables itself in dev
    _, _, _, templates = extended

    # Then its dev rule is disabled and its prod rule enabled
    states = {env: next(iter(checks.rules_of(templates[env], NEW).values()))["Properties"]["State"] for env in ("dev", "prod")}
    assert states == {"dev": "DISABLED", "prod": "ENABLED"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_declared_secret_is_created_encrypted_and_readable_only_by_its_automations_functions(extended, env) -> None:
    # Given the new automation declares tickets-token, and both automations use emit_heartbeat
    _, environments, catalog, templates = extended
    template = templates[env]
    environment = environments.get(env)

    # Then the secret exists under the platform key
    secret = checks.find_by(template, "AWS::SecretsManager::Secret", "Name", f"keel/{env}/tickets-token")
    key = checks.one(checks.resources(template, "AWS::KMS::Key"), "platform key")
    assert checks.properties(template, secret)["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    # And only the roles of the declaring automation's own functions may read it (by name, with
    # Secrets Manager's random suffix): not the heartbeat's instance of the same module
    arn = f"arn:aws:secretsmanager:{environment.region}:{environment.account}:secret:keel/{env}/tickets-token-??????"
    readers = {
        owner
        for owner, statement in checks.identity_policy_statements(template)
        if "secretsmanager:GetSecretValue" in checks.as_list(statement["Action"])
        and arn in {checks.text(resource) for resource in checks.as_list(statement["Resource"])}
    }
    expected = set()
    for automation in catalog.automations:
        if "tickets-token" not in automation.manifest.secrets:
            continue
        for module in automation.manifest.functions:
            function = checks.properties(template, checks.function_id(template, env, automation.name, module))
            role = checks.referenced_ids(function["Role"])
            expected |= {
                policy
                for policy, r in checks.resources(template, "AWS::IAM::Policy").items()
                if checks.referenced_ids(r["Properties"]["Roles"]) & role
            }
    assert readers == expected
    assert readers
    # And those functions learn its name, never its value; the heartbeat's instance learns nothing
    for automation, names in ((NEW, {"tickets-token": f"keel/{env}/tickets-token"}), ("platform_heartbeat", None)):
        function = checks.properties(template, checks.function_id(template, env, automation, "emit_heartbeat"))
        variables = function["Environment"]["Variables"]
        assert (json.loads(variables["KEEL_SECRETS"]) if "KEEL_SECRETS" in variables else None) == names


def rotations_of(template: dict, env: str, name: str) -> list[dict]:
    """The rotation schedules of one secret of the catalog (other secrets may rotate too)."""
    secret = checks.find_by(template, "AWS::SecretsManager::Secret", "Name", f"keel/{env}/{name}")
    return [
        schedule
        for schedule in checks.resources(template, "AWS::SecretsManager::RotationSchedule").values()
        if checks.referenced_ids(schedule["Properties"]["SecretId"]) == {secret}
    ]


def test_secrets_rotate_where_the_environment_names_a_rotation_function(extended) -> None:
    # Given prod names a rotation function for tickets-token and dev does not
    _, _, _, templates = extended

    # Then only prod schedules its rotation, with that function and the default period
    assert rotations_of(templates["dev"], "dev", "tickets-token") == []
    (schedule,) = rotations_of(templates["prod"], "prod", "tickets-token")
    assert schedule["Properties"]["RotationLambdaARN"] == ROTATOR
    assert schedule["Properties"]["RotationRules"]["ScheduleExpression"] == "rate(30 days)"


def state_machine_grants(template: dict, env: str, automation: str) -> dict[str, set[str]]:
    """Action -> the resources (ARNs as deployed, or <Id.Arn> in the stack) the automation's state machine role may use it on."""
    role = checks.referenced_ids(checks.properties(template, checks.state_machine_id(template, env, automation))["RoleArn"])
    grants: dict[str, set[str]] = {}
    for owner, statement in checks.identity_policy_statements(template):
        if checks.referenced_ids(checks.properties(template, owner).get("Roles", [])) & role:
            for action in checks.as_list(statement["Action"]):
                grants.setdefault(action, set()).update(
                    checks.text(resource) for resource in checks.as_list(statement["Resource"])
                )
    return grants


def test_state_machine_roles_reach_only_the_platform_resources_their_asl_names(extended) -> None:
    # Given the new automation's ASL writes to the approvals table and publishes to its on-call topic
    _, environments, _, templates = extended
    template = templates["staging"]
    environment = environments.get("staging")
    approvals = f"arn:aws:dynamodb:{environment.region}:{environment.account}:table/keel-staging-approvals"
    tickets_topic = checks.topic_arn(environment, "tickets-oncall")

    # When each state machine's role is read
    new = state_machine_grants(template, "staging", NEW)
    heartbeat = state_machine_grants(template, "staging", "platform_heartbeat")

    # Then the new one may write that table and publish to its own team's topic, nothing more
    assert approvals in new["dynamodb:PutItem"]
    assert new["sns:Publish"] == {tickets_topic}
    assert "events:PutEvents" not in new
    # And the heartbeat, whose ASL names no table, gets none; it publishes (Keel's failure path) to
    # its own on-call route only
    assert approvals not in heartbeat.get("dynamodb:PutItem", set())
    assert heartbeat["sns:Publish"] == {checks.topic_arn(environment, "platform-oncall")}
    # And each invokes only its own instances of the functions its ASL references
    for automation, grants in ((NEW, new), ("platform_heartbeat", heartbeat)):
        functions = {
            checks.function_id(template, "staging", automation, module) for module in ("emit_heartbeat", "record_decision")
        }
        # Any published version of them (function:NAME:VERSION), never $LATEST
        assert grants["lambda:InvokeFunction"] == {f"<{function}.Arn>:*" for function in functions}
