"""Sending to an automation's own queues (manifest `queues:`), raising the project's exceptions.

The platform passes each function the URLs of the queues it may send to as KEEL_QUEUES, a JSON map
{automation: {queue: url}}; a function used by several automations gets each one's queues.
"""

from __future__ import annotations

import json
from typing import Any

from functions.shared.adapters.aws import aws_errors, client
from functions.shared.runtime.errors import ConfigurationError


def queue_urls(raw: str, automation: str) -> dict[str, str]:
    """The queue URLs of one automation from KEEL_QUEUES."""
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"KEEL_QUEUES is not JSON: {error.msg}") from None
    urls = parsed.get(automation) if isinstance(parsed, dict) else None
    if not isinstance(urls, dict):
        raise ConfigurationError(f"KEEL_QUEUES has no queues for automation '{automation}'")
    return {str(name): str(url) for name, url in urls.items()}


class QueueSender:
    def __init__(self, urls: dict[str, str], sqs: Any | None = None) -> None:
        self.urls = urls
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = client("sqs")
        return self._sqs

    def send(self, queue: str, body: dict[str, Any], attributes: dict[str, str]) -> str:
        """Send one JSON message; returns its message id."""
        if queue not in self.urls:
            raise ConfigurationError(f"no queue '{queue}' (this function may send to: {', '.join(sorted(self.urls)) or 'none'})")
        with aws_errors(f"SendMessage to {queue}"):
            response = self.sqs.send_message(
                QueueUrl=self.urls[queue],
                MessageBody=json.dumps(body, sort_keys=True),
                MessageAttributes={key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()},
            )
        return str(response["MessageId"])
