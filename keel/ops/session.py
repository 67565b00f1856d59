"""Where `keel ops` points: one environment, on AWS (the operator's credentials) or a local endpoint.

Resources are found by the names the platform gives them (keel-<env>-<automation>, the
keel-<env>-decisions table, ...), so no stack lookup or extra permission is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from infra import names

if TYPE_CHECKING:  # boto3 and the stores load when a command talks to AWS, not when `keel --help` runs
    from functions.shared.adapters.anchor_bucket import AnchorBucket
    from functions.shared.domain.approvals import ApprovalStore
    from functions.shared.domain.decisions import DecisionLog

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class OpsError(Exception):
    """A problem the operator can fix, said in one line."""


class OpsInputError(OpsError):
    """What was typed names nothing there is (an automation, a time): exit 2, as for any usage error."""


@dataclass
class OpsSession:
    environment: str
    region: str
    endpoint_url: str | None = None
    # Clients already made (the local cloud hands over its own); others are made on first use.
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return bool(self.endpoint_url) and (urlparse(self.endpoint_url).hostname or "") in LOCAL_HOSTS

    def client(self, service: str) -> Any:
        if service not in self.clients:
            import boto3

            # The local cloud accepts any credentials: never send an operator's real ones to it.
            local = {"aws_access_key_id": "keel-local", "aws_secret_access_key": "keel-local"} if self.is_local else {}
            self.clients[service] = boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url, **local)
        return self.clients[service]

    def state_machine_name(self, automation: str) -> str:
        return names.state_machine(self.environment, automation)

    @cached_property
    def state_machines(self) -> dict[str, str]:
        """Automation name -> state machine ARN, for this environment."""
        prefix = f"{names.prefix(self.environment)}-"
        machines: dict[str, str] = {}
        with aws_call("list the environment's state machines"):
            for page in self.client("stepfunctions").get_paginator("list_state_machines").paginate():
                for machine in page["stateMachines"]:
                    # A candidate's shadow state machine (NAME-shadow) is not an automation of its own.
                    if machine["name"].startswith(prefix) and not machine["name"].endswith("-shadow"):
                        machines[machine["name"][len(prefix) :]] = machine["stateMachineArn"]
        return machines

    def state_machine_arn(self, automation: str) -> str:
        machines = self.state_machines
        if automation not in machines:
            known = ", ".join(sorted(machines)) or "none deployed"
            raise OpsError(f"unknown automation '{automation}' in environment '{self.environment}' (known: {known})")
        return machines[automation]

    def dead_letter_queue_url(self, automation: str) -> str:
        self.state_machine_arn(automation)
        with aws_call(f"find the dead-letter queue of {automation}"):
            response = self.client("sqs").get_queue_url(QueueName=names.dead_letter_queue(self.environment, automation))
        return str(response["QueueUrl"])

    @cached_property
    def decisions(self) -> DecisionLog:
        from functions.shared.adapters.dynamodb import Table
        from functions.shared.domain.decisions import DecisionLog

        return DecisionLog(Table(names.table(self.environment, "decisions"), self.client("dynamodb")))

    @cached_property
    def anchor(self) -> AnchorBucket:
        """The decision record's anchor bucket; its name is in an SSM parameter (CloudFormation names the bucket)."""
        from functions.shared.adapters.anchor_bucket import AnchorBucket

        parameter = names.decision_anchor_parameter(self.environment)
        with aws_call(f"find the decision anchor ({parameter})"):
            bucket = self.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
        return AnchorBucket(bucket, self.client("s3"))

    @cached_property
    def approvals(self) -> ApprovalStore:
        from functions.shared.adapters.dynamodb import Table
        from functions.shared.domain.approvals import ApprovalStore

        return ApprovalStore(Table(names.table(self.environment, "approvals"), self.client("dynamodb")))

    def caller(self) -> str:
        """Who is acting: recorded on approvals and rejections."""
        with aws_call("identify the caller"):
            return str(self.client("sts").get_caller_identity()["Arn"])

    def console_link(self, execution_arn: str) -> str | None:
        """The execution in the Step Functions console; None where there is no console (any endpoint URL)."""
        if self.endpoint_url:
            return None
        return f"https://{self.region}.console.aws.amazon.com/states/home?region={self.region}#/v2/executions/details/{execution_arn}"

    def keel_command(self, *words: str) -> str:
        """`keel ops ...` pointed where this session points, so it runs wherever it is pasted."""
        where = f" --endpoint-url {self.endpoint_url}" if self.endpoint_url else ""
        return f"keel ops {' '.join(words)} --env {self.environment} --region {self.region}{where}"

    def aws_command(self, *words: str) -> str:
        """The AWS CLI's command for the same view, against this session's endpoint. The local cloud takes
        any credentials but an AWS client sends none unless some are set, so they are set for the command."""
        if not self.endpoint_url:
            return f"aws {' '.join(words)} --region {self.region}"
        return (
            "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
            f"aws {' '.join(words)} --endpoint-url {self.endpoint_url} --region {self.region}"
        )


@contextmanager
def aws_call(what: str) -> Iterator[None]:
    """Turn boto3's failures into one-line OpsErrors that say what could not be done and why."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

    from functions.shared.runtime.errors import KeelError

    try:
        yield
    except NoCredentialsError:
        raise OpsError(f"cannot {what}: no AWS credentials (set AWS_PROFILE or run `aws sso login`)") from None
    except NoRegionError:
        raise OpsError(f"cannot {what}: no region (pass --region)") from None
    except EndpointConnectionError as error:
        raise OpsError(
            f"cannot {what}: no answer from {error.kwargs.get('endpoint_url')} (is `keel local up` running?)"
        ) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message", "")
        raise OpsError(f"cannot {what}: {code}: {message}") from None
    except KeelError as error:
        raise OpsError(f"cannot {what}: {error}") from None
