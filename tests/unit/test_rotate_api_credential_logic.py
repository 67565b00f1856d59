"""functions/rotate_api_credential/logic.py with an in-memory Secrets Manager and API: each step, the
order of the staging labels, what a step run again does, and what stops a rotation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from functions.rotate_api_credential import logic
from functions.shared.adapters.secret_versions import CURRENT, PENDING, PREVIOUS, Versions
from functions.shared.adapters.secrets import Secret
from functions.shared.runtime.errors import ConfigurationError, DependencyError, InvalidInputError

NAME = "keel/dev/crm-api-key"
ARN = f"arn:aws:secretsmanager:eu-west-1:111111111111:secret:{NAME}-AbCdEf"
OLD = {"api_key": "old-key-1f2e"}


@dataclass
class FakeStore:
    """Secrets Manager's versions of one secret, as RotateSecret leaves them: AWSPENDING on an empty version."""

    values: dict[str, str] = field(default_factory=lambda: {"v1": json.dumps(OLD)})
    stages: dict[str, list[str]] = field(default_factory=lambda: {"v1": [CURRENT], "v2": [PENDING]})
    rotation_enabled: bool = True

    def versions(self, secret_id: str) -> Versions:
        assert secret_id == ARN
        return Versions(self.rotation_enabled, {version: list(stages) for version, stages in self.stages.items()})

    def value(self, secret_id: str, *, stage: str, version_id: str | None = None) -> Secret | None:
        version = version_id or next((v for v, stages in self.stages.items() if stage in stages), None)
        if version is None or stage not in self.stages.get(version, []) or version not in self.values:
            return None
        return Secret(NAME, self.values[version])

    def put_pending(self, secret_id: str, token: str, value: str) -> None:
        self.values[token] = value

    def make_current(self, secret_id: str, token: str, current: str) -> None:
        for stages in self.stages.values():
            if PREVIOUS in stages:
                stages.remove(PREVIOUS)
        self.stages[current] = [PREVIOUS]
        self.stages[token] = [CURRENT]


@dataclass
class FakeApi:
    valid: list[str] = field(default_factory=lambda: [OLD["api_key"]])
    refuses_new: bool = False
    issued: int = 0

    def issue(self, current: Secret) -> dict[str, str]:
        assert current.json()["api_key"] in self.valid
        self.issued += 1
        key = f"new-key-{self.issued}"
        if not self.refuses_new:
            self.valid.append(key)
        return {"api_key": key}

    def accepts(self, credential: Secret) -> bool:
        return credential.json()["api_key"] in self.valid

    def retire(self, credential: Secret) -> None:
        self.valid = [key for key in self.valid if key != credential.json()["api_key"]]


def step(name: str, token: str = "v2", secret_id: str = ARN) -> logic.RotationStep:
    return logic.RotationStep.model_validate({"Step": name, "SecretId": secret_id, "ClientRequestToken": token})


def rotate_all(deps: logic.Dependencies) -> list[dict[str, object]]:
    return [logic.rotate(step(name), deps) for name in ("createSecret", "setSecret", "testSecret", "finishSecret")]


def test_the_four_steps_make_an_issued_key_current_and_retire_the_old_one() -> None:
    # Given a secret whose rotation has begun (v2 is AWSPENDING, empty) and an API that issues keys
    store, api = FakeStore(), FakeApi()

    # When the four steps run
    results = rotate_all(logic.Dependencies(NAME, store, api))

    # Then v2 holds the issued key and is AWSCURRENT, v1 is AWSPREVIOUS, and the API accepts only the new key
    assert json.loads(store.values["v2"]) == {"api_key": "new-key-1"}
    assert store.stages == {"v1": [PREVIOUS], "v2": [CURRENT]}
    assert api.valid == ["new-key-1"]
    # and no result carries a credential
    assert [key for key in ("new-key-1", OLD["api_key"]) if key in json.dumps(results)] == []


def test_steps_run_again_issue_nothing_twice_and_still_retire_the_previous_key() -> None:
    # Given a rotation that got through createSecret, then finishSecret whose retire failed once
    store, api = FakeStore(), FakeApi()
    deps = logic.Dependencies(NAME, store, api)
    rotate_all(deps)
    api.valid.append(OLD["api_key"])  # the old key still valid: its retirement did not happen

    # When Secrets Manager runs createSecret and finishSecret again
    logic.rotate(step("createSecret"), deps)
    logic.rotate(step("finishSecret"), deps)

    # Then no second key was issued, and the old key is retired now
    assert api.issued == 1
    assert api.valid == ["new-key-1"]


def test_a_pending_key_the_api_refuses_stops_the_rotation_before_finish() -> None:
    # Given an API that issues a key it then does not accept
    store, api = FakeStore(), FakeApi(refuses_new=True)
    deps = logic.Dependencies(NAME, store, api)
    logic.rotate(step("createSecret"), deps)

    # When testSecret runs, then it fails and AWSCURRENT has not moved
    with pytest.raises(DependencyError, match="refuses the pending credential"):
        logic.rotate(step("testSecret"), deps)
    assert store.stages["v1"] == [CURRENT]
    assert api.valid == [OLD["api_key"]]


@pytest.mark.parametrize(
    ("store", "event", "error", "message"),
    [
        (FakeStore(rotation_enabled=False), step("createSecret"), ConfigurationError, "not enabled for rotation"),
        (FakeStore(), step("createSecret", token="v9"), InvalidInputError, "no version v9"),
        (FakeStore(stages={"v1": [CURRENT], "v2": []}), step("createSecret"), InvalidInputError, "is not AWSPENDING"),
        (FakeStore(), step("createSecret", secret_id="keel/dev/other"), InvalidInputError, "rotates secret"),
    ],
)
def test_a_step_for_the_wrong_secret_or_version_is_refused(
    store: FakeStore, event: logic.RotationStep, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        logic.rotate(event, logic.Dependencies(NAME, store, FakeApi()))


def test_the_secret_is_matched_by_name_or_by_arn_with_its_random_suffix() -> None:
    # Given the secret's versions, named by its name and by its ARN; and a neighbour whose name extends it
    store = FakeStore()
    deps = logic.Dependencies(NAME, store, FakeApi())
    neighbour = f"arn:aws:secretsmanager:eu-west-1:111111111111:secret:{NAME}-two-AbCdEf"

    # Then setSecret is done for the ARN, and refused for the neighbour
    assert logic.rotate(step("setSecret"), deps)["outcome"] == "the API set the credential it issued"
    with pytest.raises(InvalidInputError):
        logic.rotate(step("setSecret", secret_id=neighbour), deps)
