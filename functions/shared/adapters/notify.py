"""Notifications to on-call routes (SNS topics), by route name."""

from __future__ import annotations

from typing import Any

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.runtime.errors import ConfigurationError
from functions.shared.runtime.settings import json_map

SUBJECT_LIMIT = 100


class Notifier:
    def __init__(self, topics_json: str, sns: Any | None = None) -> None:
        self.topics = json_map("KEEL_ONCALL_TOPICS", topics_json, "route to topic ARN")
        self._sns = sns

    def publish(self, route: str, subject: str, message: str) -> str:
        if route not in self.topics:
            raise ConfigurationError(f"no on-call topic for route '{route}' (routes: {', '.join(sorted(self.topics))})")
        sns = self._sns or client("sns")
        if len(subject) > SUBJECT_LIMIT:
            subject = subject[: SUBJECT_LIMIT - 1] + "…"
        with aws_errors(f"Publish to on-call route '{route}'"):
            response = sns.publish(TopicArn=self.topics[route], Subject=subject, Message=message)
        return str(response["MessageId"])
