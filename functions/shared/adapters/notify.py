"""Notifications to on-call routes (SNS topics), by route name."""

from __future__ import annotations

import json
from typing import Any

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.errors import ConfigurationError

SUBJECT_LIMIT = 100


class Notifier:
    def __init__(self, topics_json: str, sns: Any | None = None) -> None:
        try:
            topics = json.loads(topics_json)
        except json.JSONDecodeError:
            raise ConfigurationError("KEEL_ONCALL_TOPICS is not valid JSON") from None
        if not isinstance(topics, dict):
            raise ConfigurationError("KEEL_ONCALL_TOPICS must be a JSON object of route to topic ARN")
        self.topics: dict[str, str] = topics
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
