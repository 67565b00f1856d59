"""config/environments.yaml: the typed environment table, validated at synth."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import load_environments
from infra.errors import KeelConfigError


def rejection(temp_repo, edit) -> KeelConfigError:
    data = temp_repo.environments_data()
    edit(data["environments"])
    path = temp_repo.write_environments(data)
    with pytest.raises(KeelConfigError) as caught:
        load_environments(path)
    assert caught.value.path == str(path)
    assert "\n" not in str(caught.value)
    return caught.value


def test_the_checked_in_table_loads_with_every_environment(repo_root: Path) -> None:
    # Given the repository's environment table / When it is loaded
    table = load_environments(repo_root / "config" / "environments.yaml")

    # Then dev, staging and prod are there, each named by its key, with a platform on-call route
    assert sorted(table.environments) == ["dev", "prod", "staging"]
    for name, env in table.environments.items():
        assert env.name == name
        assert env.platform_oncall in env.oncall_routes
    assert {sub.protocol for sub in table.get("prod").oncall_routes["platform-oncall"].subscriptions} == {"email", "https"}


def test_an_unknown_environment_is_named_with_the_known_ones(repo_root: Path) -> None:
    # Given the table
    table = load_environments(repo_root / "config" / "environments.yaml")

    # When an environment that does not exist is asked for / Then the error lists the known ones
    with pytest.raises(KeelConfigError, match=r"no environment 'qa' \(known: dev, prod, staging\)") as caught:
        table.get("qa")
    assert caught.value.field == "environments"


@pytest.mark.parametrize("account", ["12345", "1111111111111", "abcdefghijkl", 111111111111])
def test_an_account_that_is_not_twelve_digits_is_rejected(temp_repo, account) -> None:
    # Given dev's account is not a 12-digit string
    def edit(envs):
        envs["dev"]["account"] = account

    # When the table is loaded / Then the account field of dev is named
    error = rejection(temp_repo, edit)
    assert error.field == "environments.dev.account"


def test_a_platform_oncall_route_that_does_not_exist_is_rejected(temp_repo) -> None:
    # Given staging's platform on-call names a route staging does not define
    def edit(envs):
        envs["staging"]["platform_oncall"] = "nobody-oncall"

    # When the table is loaded
    error = rejection(temp_repo, edit)

    # Then the error is about staging's platform_oncall and names the missing route
    assert error.field == "environments.staging"
    assert "platform_oncall 'nobody-oncall' is not one of oncall_routes" in error.message


@pytest.mark.parametrize(
    ("subscription", "complaint"),
    [
        ({"protocol": "email", "endpoint": "not-an-address"}, "'not-an-address' is not an email address"),
        ({"protocol": "https", "endpoint": "http://pager.example.com/hook"}, "must start with https://"),
        ({"protocol": "sqs", "endpoint": "my-queue"}, "'my-queue' must be an ARN"),
        ({"protocol": "sms", "endpoint": "+3200000000"}, "Input should be"),
    ],
)
def test_a_bad_subscription_endpoint_is_rejected(temp_repo, subscription, complaint) -> None:
    # Given prod's platform route has a subscription whose endpoint does not fit its protocol
    def edit(envs):
        envs["prod"]["oncall_routes"]["platform-oncall"]["subscriptions"].append(subscription)

    # When the table is loaded
    error = rejection(temp_repo, edit)

    # Then the subscription is named by its position and the problem is said
    assert error.field.startswith("environments.prod.oncall_routes.platform-oncall.subscriptions.2")
    assert complaint in error.message


@pytest.mark.parametrize(
    ("edit_path", "value", "field", "complaint"),
    [
        (("log_retention_days",), 10, "environments.dev.log_retention_days", "Input should be"),
        (("region",), "Europe", "environments.dev.region", "should match pattern"),
        (("alarms", "failed_executions"), 0, "environments.dev.alarms.failed_executions", "greater than or equal to 1"),
        (("approval", "required_from_risk"), "sometimes", "environments.dev.approval.required_from_risk", "Input should be"),
        (
            ("oncall_routes",),
            {"Platform_OnCall": {"subscriptions": [{"protocol": "email", "endpoint": "a@b.io"}]}},
            "environments.dev.oncall_routes",
            "lower-case",
        ),
        (("alarm",), {}, "environments.dev.alarm", "unknown field (check the spelling)"),
    ],
)
def test_other_bad_values_name_their_field(temp_repo, edit_path, value, field, complaint) -> None:
    # Given one bad value in dev
    def edit(envs):
        target = envs["dev"]
        for key in edit_path[:-1]:
            target = target[key]
        target[edit_path[-1]] = value

    # When the table is loaded / Then that field is named with what is wrong
    error = rejection(temp_repo, edit)
    assert error.field == field
    assert complaint in error.message


def test_a_missing_setting_is_reported_as_missing(temp_repo) -> None:
    # Given staging has no alarm thresholds
    def edit(envs):
        del envs["staging"]["alarms"]

    # When the table is loaded / Then the missing field is named
    error = rejection(temp_repo, edit)
    assert (error.field, error.message) == ("environments.staging.alarms", "required field is missing")


@pytest.mark.parametrize(
    ("text", "field"), [("environments: [dev, prod]\n", "environments"), ("environments: {dev: [\n", "(document)")]
)
def test_a_table_that_is_not_a_mapping_of_environments_is_rejected(tmp_path, text, field) -> None:
    # Given a table that is a list, or not YAML at all
    path = tmp_path / "environments.yaml"
    path.write_text(text)

    # When it is loaded / Then the error names the file and what is wrong with its shape
    with pytest.raises(KeelConfigError) as caught:
        load_environments(path)
    assert caught.value.path == str(path)
    assert caught.value.field == field


def test_approval_policy_follows_risk_levels(repo_root: Path) -> None:
    # Given the checked-in policies: dev never asks, prod asks from medium risk
    table = load_environments(repo_root / "config" / "environments.yaml")

    # When risks are checked / Then only prod asks, and only from medium up
    assert not any(table.get("dev").approval.requires_approval(risk) for risk in ("low", "medium", "high", "critical"))
    prod = table.get("prod").approval
    assert [prod.requires_approval(risk) for risk in ("low", "medium", "high", "critical")] == [False, True, True, True]


@pytest.mark.parametrize(
    ("edit_path", "value", "field", "complaint"),
    [
        # Secrets Manager's AutomaticallyAfterDays is 1 to 1000
        (
            ("apis", "crm", "rotation", "every_days"),
            0,
            "environments.dev.apis.crm.rotation.every_days",
            "greater than or equal to 1",
        ),
        (
            ("apis", "crm", "rotation", "every_days"),
            1001,
            "environments.dev.apis.crm.rotation.every_days",
            "less than or equal to 1000",
        ),
        (("apis", "crm", "rotation", "path"), "credentials", "environments.dev.apis.crm.rotation.path", "should match pattern"),
        (
            ("apis", "billing", "rotation"),
            {"every_days": 30, "path": "/clients"},
            "environments.dev.apis.billing",
            "cannot be rotated",
        ),
        (
            ("secrets", "crm-api-key", "rotation_lambda_arn"),
            "arn:aws:lambda:eu-west-1:111111111111:function:f",
            "environments.dev",
            "keep one of the two",
        ),
    ],
)
def test_a_bad_api_rotation_names_its_field(temp_repo, edit_path, value, field, complaint) -> None:
    # Given one bad rotation setting in dev
    def edit(envs):
        target = envs["dev"]
        for key in edit_path[:-1]:
            target = target.setdefault(key, {})
        target[edit_path[-1]] = value

    # When the table is loaded / Then the field is named with what is wrong
    error = rejection(temp_repo, edit)
    assert error.field == field
    assert complaint in error.message


def test_the_crm_key_is_rotated_by_keel_every_30_days(repo_root: Path) -> None:
    table = load_environments(repo_root / "config" / "environments.yaml")
    for env in table.environments.values():
        rotated = env.rotated_apis()
        assert list(rotated) == ["crm"]
        assert rotated["crm"].rotation is not None
        assert (rotated["crm"].rotation.every_days, rotated["crm"].rotation.path) == (30, "/credentials")
