"""The decision anchor's S3 bucket (Object Lock, compliance mode): objects are only ever created.

Writes are conditional on the key not existing (`If-None-Match: *`,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html): a redelivered stream
record finds its copy already there instead of stacking a second version on it. Object Lock needs a
checksum on every upload to a bucket with a retention period ("Content-MD5 or x-amz-sdk-checksum-algorithm
header is required", https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html).
"""

from __future__ import annotations

from typing import Any

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.runtime.errors import ConflictError

# The key exists already (412), or another conditional write of the same key is in flight (409).
KEY_EXISTS = "PreconditionFailed"
KEY_CONTENDED = "ConditionalRequestConflict"


class AnchorBucket:
    def __init__(self, name: str, s3: Any | None = None) -> None:
        self.name = name
        self._s3 = s3

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3")
        return self._s3

    def create(self, key: str, body: bytes) -> bool:
        """Write a new object; False when one with this key exists already (nothing is written)."""
        from botocore.exceptions import ClientError

        with aws_errors(f"PutObject {key} in {self.name}"):
            try:
                self.s3.put_object(
                    Bucket=self.name,
                    Key=key,
                    Body=body,
                    IfNoneMatch="*",
                    ChecksumAlgorithm="SHA256",
                    ContentType="application/json",
                )
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code == KEY_EXISTS:
                    return False
                if code == KEY_CONTENDED:
                    raise ConflictError(f"another write of {key} in {self.name} is in flight") from error
                raise
        return True

    def read(self, key: str) -> bytes:
        with aws_errors(f"GetObject {key} in {self.name}"):
            body: bytes = self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()
        return body

    def versions(self, prefix: str) -> dict[str, list[str]]:
        """Every key under `prefix` with its version ids, oldest first: the first version is what was
        anchored; any later one was put over it (Object Lock keeps the first, whatever came after)."""
        found: dict[str, list[tuple[Any, str]]] = {}
        with aws_errors(f"ListObjectVersions {prefix} in {self.name}"):
            for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.name, Prefix=prefix):
                for version in page.get("Versions", []):
                    found.setdefault(version["Key"], []).append((version["LastModified"], version["VersionId"]))
        return {key: [version for _, version in sorted(listed)] for key, listed in found.items()}

    def read_version(self, key: str, version: str) -> bytes:
        with aws_errors(f"GetObject {key} ({version}) in {self.name}"):
            body: bytes = self.s3.get_object(Bucket=self.name, Key=key, VersionId=version)["Body"].read()
        return body
