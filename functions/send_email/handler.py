"""Lambda entry point for send_email: parse, call logic.send, return what was sent."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from functions.send_email import logic
from functions.shared.adapters.aws import aws_errors, client
from functions.shared.adapters.dynamodb import Expression, Table
from functions.shared.runtime.handler import task_handler
from functions.shared.runtime.settings import FunctionSettings, settings_reader


class Settings(FunctionSettings):
    keel_idempotency_table: str


settings = settings_reader(Settings)


class TableMarkers:
    def __init__(self, table: Table) -> None:
        self.table = table

    def claim(self, key: str, expires: int) -> bool:
        return self.table.put_if_absent({"id": key, "expiration": expires}, "id")

    def release(self, key: str) -> None:
        self.table.delete_if({"id": key}, Expression("attribute_exists(id)"))


class SesMailer:
    def send(self, sender: str, to: str, subject: str, body: str) -> str:
        with aws_errors(f"SES SendEmail to {to}"):
            response = client("ses").send_email(
                Source=sender,
                Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}},
            )
        return str(response["MessageId"])


@cache
def dependencies() -> logic.Dependencies:
    return logic.Dependencies(markers=TableMarkers(Table(settings().keel_idempotency_table)), mailer=SesMailer(), clock=time.time)


@task_handler(logic.EmailInput)
def lambda_handler(task: logic.EmailInput, _context: Any) -> dict[str, Any]:
    return logic.send(task, dependencies())
