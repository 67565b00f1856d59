"""Errors the local cloud reports to its user (the CLI prints them; nothing is swallowed)."""

from __future__ import annotations


class LocalCloudError(Exception):
    """The local cloud cannot do what was asked: bad template, unsupported resource, moto changed."""


class InvalidEventError(LocalCloudError):
    """A file that is not a well-formed EventBridge event; the message names the file and the problem."""
