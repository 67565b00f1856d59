"""What a role may do with the platform key: exactly what each service that encrypts with it asks of
the role it works for, and only through that service.

Every Keel table, queue, topic and secret is encrypted with the environment's customer managed key. A
role that reads or writes one of them needs some use of the key, but never the key for itself: each
statement here is conditioned on kms:ViaService, so the role can use the key only through the service
that holds the data (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
CDK's own grants (kms:Encrypt, kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey on the key, through
any service) are not used: they allow re-encrypting any ciphertext under the key and data keys for
anything, which no caller of these services needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

KeyUse = Literal["dynamodb", "sqs", "sns", "s3", "secretsmanager"]

KEY_ACTIONS: dict[KeyUse, list[str]] = {
    # DynamoDB keeps a table key encrypted under the KMS key and decrypts it with the caller's permission
    # (cached per caller for five minutes); items are encrypted under keys derived from that table key, so
    # reads and writes alike need kms:Decrypt and nothing else ("Encryption at rest: How it works",
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html; a PutItem
    # without it fails, https://github.com/aws/aws-cdk/issues/10010). Creating the table, which also needs
    # kms:CreateGrant and kms:DescribeKey, is CloudFormation's work, not a function's.
    "dynamodb": ["kms:Decrypt"],
    # A producer of an encrypted queue needs kms:GenerateDataKey and kms:Decrypt (SQS reuses a data key for
    # the data key reuse period); a consumer needs kms:Decrypt
    # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
    "sqs": ["kms:GenerateDataKey", "kms:Decrypt"],
    # A publisher to an encrypted topic: kms:GenerateDataKey and kms:Decrypt
    # (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
    "sns": ["kms:GenerateDataKey", "kms:Decrypt"],
    # SSE-KMS: PutObject needs kms:GenerateDataKey, GetObject kms:Decrypt
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html, "Permissions").
    "s3": ["kms:GenerateDataKey", "kms:Decrypt"],
    # A secret under a customer managed key: GetSecretValue needs kms:Decrypt, PutSecretValue kms:GenerateDataKey
    # (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
    "secretsmanager": ["kms:GenerateDataKey", "kms:Decrypt"],
}


def via_service(scope: Stack, service: KeyUse) -> dict[str, dict[str, str]]:
    return {"StringEquals": {"kms:ViaService": f"{service}.{scope.region}.amazonaws.com"}}


def grant_key_use(role: iam.IGrantable, key: kms.IKey, uses: Iterable[KeyUse]) -> None:
    """The platform key for these services' data, through them only; one statement per service."""
    stack = Stack.of(key)
    for use in sorted(set(uses)):
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=KEY_ACTIONS[use], resources=[key.key_arn], conditions=via_service(stack, use))
        )
