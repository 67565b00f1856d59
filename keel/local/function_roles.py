"""Each deployed function's own role, assumed through moto's STS, and IAM's answer to every call made
with its credentials.

On Lambda a function's code signs its calls with credentials of its execution role (a session named
after the function), and IAM refuses whatever the role's policies do not allow. The local cloud does
the same: a function's sandbox gets its role's session credentials (in its environment and for
boto3.client), and every request signed with them is checked against the role's policies, as they are
in moto's IAM at that moment, before moto handles it. A refusal is the service's own AccessDenied
error with AWS's message (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html),
which names the action, the resource and the session, i.e. the function, so also its module.

Only these sessions are evaluated. Every other caller (the local cloud deploying and driving, moto's
Step Functions interpreter calling services for a state machine, `keel ops`, the aws CLI against
`keel local up`) acts as the account's administrator, whatever keys it signs with: the state
machines' and EventBridge's roles are not evaluated.

moto has an IAM mode of its own (INITIAL_NO_AUTH_ACTION_COUNT, set_initial_no_auth_action_count), not
used: it is one process-wide switch that authenticates every caller (fake keys are refused, moto's
interpreter signs with keys no identity owns), it checks almost every request against the resource
"*" so a statement naming a table or a topic never applies, it knows the signing name
`monitoring` rather than the IAM prefix `cloudwatch`, and it turns a failed condition into an explicit
deny. What is evaluated here and what is not: keel/local/iam_evaluation.py and iam_requests.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from keel.local.iam_evaluation import Document, Verdict, decide, documents
from keel.local.iam_requests import ApiCall, permissions_needed

# The code and HTTP status each service answers a refused request with: the common error
# AccessDeniedException (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html,
# the same list for every JSON service), SNS's AuthorizationError
# (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html), EC2's UnauthorizedOperation
# (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html) and the query services' AccessDenied.
DENIED_AS = {
    "sns": ("AuthorizationError", 403),
    "ec2": ("UnauthorizedOperation", 403),
    "iam": ("AccessDenied", 403),
    "sts": ("AccessDenied", 403),
    "monitoring": ("AccessDenied", 403),
}
DENIED_BY_DEFAULT = ("AccessDeniedException", 400)
ARTICLES = {"identity-based policy": "an", "permissions boundary": "a"}
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


class FunctionLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class FunctionSession:
    """A function's role session: what Lambda would put in its environment."""

    function: str
    role_arn: str
    arn: str  # arn:aws:sts::<account>:assumed-role/<role name>/<function name>
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        return dict(zip(CREDENTIAL_VARIABLES, (self.access_key_id, self.secret_access_key, self.session_token), strict=True))


@dataclass(frozen=True)
class Denial:
    """A refused request, as the service answers it."""

    code: str
    status: int
    message: str


# (role ARN, session name) -> the AssumeRole response's Credentials and AssumedRoleUser.
AssumeRole = Callable[[str, str], dict[str, Any]]
# role ARN -> the role's policy documents (inline and managed) and its permissions boundary's.
RolePolicies = Callable[[str], tuple[list[str | Document], str | Document | None]]


class FunctionRoles:
    def __init__(self, assume_role: AssumeRole, role_policies: RolePolicies) -> None:
        self._assume_role = assume_role
        self._role_policies = role_policies
        self._lock = threading.Lock()
        self._by_function: dict[str, FunctionSession] = {}
        self._by_access_key: dict[str, FunctionSession] = {}

    def session_for(self, function: FunctionLike) -> FunctionSession:
        """The function's role session, assumed the first time (a cold start) and kept."""
        with self._lock:
            known = self._by_function.get(function.name)
        if known is not None:
            return known
        assumed = self._assume_role(function.role, function.name)
        credentials = assumed["Credentials"]
        session = FunctionSession(
            function=function.name,
            role_arn=function.role,
            arn=assumed["AssumedRoleUser"]["Arn"],
            access_key_id=credentials["AccessKeyId"],
            secret_access_key=credentials["SecretAccessKey"],
            session_token=credentials["SessionToken"],
        )
        with self._lock:
            self._by_function[function.name] = session
            self._by_access_key[session.access_key_id] = session
        return session

    def evaluates(self, access_key_id: str) -> bool:
        """Whether requests signed with this key are a function's, and so checked."""
        with self._lock:
            return access_key_id in self._by_access_key

    def authorize(self, access_key_id: str, call: ApiCall) -> Denial | None:
        """None when the role allows everything the call needs; otherwise the service's refusal."""
        with self._lock:
            session = self._by_access_key.get(access_key_id)
        if session is None:
            return None
        identity, boundary = self._role_policies(session.role_arn)
        policies = documents(identity)
        bounding = documents([boundary])[0] if boundary is not None else None
        for permission in permissions_needed(call):
            decision = decide(permission, policies, bounding)
            if decision.allowed:
                continue
            on = f" on resource: {permission.resource}" if permission.resource else ""
            if decision.verdict is Verdict.EXPLICIT_DENY:
                why = f"with an explicit deny in {ARTICLES[decision.policy_type]} {decision.policy_type}"
            else:
                why = f"because no {decision.policy_type} allows the {permission.action} action"
            code, status = DENIED_AS.get(call.service, DENIED_BY_DEFAULT)
            return Denial(code, status, f"User: {session.arn} is not authorized to perform: {permission.action}{on} {why}")
        return None
