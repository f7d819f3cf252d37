"""Signing secrets read from Secrets Manager, cached per container for a bounded time.

A secret's ``SecretString`` is one secret (``whsec_...``) or a JSON list of secrets (while
rotating: the new one and the old one). Each value is kept for ``ttl_seconds`` and then read
again, so a rotated secret takes effect within that time without a redeploy.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["DEFAULT_TTL_SECONDS", "SecretCache", "SecretFormatError", "parse_secrets"]

#: How long a secret is cached before it is read again.
DEFAULT_TTL_SECONDS = 300.0


class SecretFormatError(ValueError):
    """A secret value is neither a non-empty string nor a JSON list of non-empty strings.

    The message names the secret's ARN, never its value.
    """


def parse_secrets(value: str, arn: str = "") -> tuple[str, ...]:
    """The secrets of a ``SecretString``: a JSON list of strings, or the string itself."""
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise SecretFormatError(f"secret {arn}: not a JSON list of secrets") from None
        if (
            not isinstance(parsed, list)
            or not parsed
            or not all(isinstance(item, str) and item.strip() for item in parsed)
        ):
            raise SecretFormatError(f"secret {arn}: must be a non-empty list of strings")
        return tuple(item.strip() for item in parsed)
    if not text:
        raise SecretFormatError(f"secret {arn}: the secret string is empty")
    return (text,)


class SecretCache:
    """Reads secrets by ARN and keeps each for ``ttl_seconds``.

    :param ttl_seconds: how long a value is reused before it is read again.
        Default: - 300 seconds.
    :param client: a Secrets Manager client. Default: - one created on first use.
    :param clock: a monotonic clock in seconds. Default: - ``time.monotonic``.
    """

    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        *,
        client: SecretsManagerClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError(f"ttl_seconds must not be negative, got {ttl_seconds}")
        self.ttl_seconds = ttl_seconds
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, tuple[str, ...]]] = {}

    @property
    def client(self) -> SecretsManagerClient:
        """The Secrets Manager client, created on first use."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(retries={"mode": "standard"}, connect_timeout=3, read_timeout=5)
            self._client = boto3.client("secretsmanager", config=config)
        return self._client

    def get(self, arn: str) -> tuple[str, ...]:
        """The secrets stored under ``arn`` (read again once the cached value is too old).

        Raises SecretFormatError for a value of the wrong shape, and botocore's errors when
        Secrets Manager cannot be read.
        """
        now = self._clock()
        with self._lock:
            cached = self._values.get(arn)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        value = self.client.get_secret_value(SecretId=arn).get("SecretString")
        if value is None:
            raise SecretFormatError(f"secret {arn}: has no SecretString")
        secrets = parse_secrets(value, arn)
        with self._lock:
            self._values[arn] = (now, secrets)
        return secrets

    def clear(self) -> None:
        """Forgets every cached value."""
        with self._lock:
            self._values.clear()
