"""The moto server fixtures: a real moto server in a process-local thread, reached over HTTP.

A plain module, not a conftest: ``tests/conftest.py`` re-exports the fixtures, so a test in
any folder asks for them by name, and helpers import ``AWS_REGION`` from here.
Every pytest-xdist worker starts its own server on a free port, so workers never share state.
Tests on one worker share that server: give queues, tables and buses unique names.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

AWS_REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto server on 127.0.0.1 for this test session (this xdist worker).

    While it runs, the environment holds dummy credentials, the region and
    ``AWS_ENDPOINT_URL``, so any boto3 client, including ones runtime code creates itself,
    talks to the server and never to AWS.
    """
    from moto.server import ThreadedMotoServer  # heavy import, only when needed

    with pytest.MonkeyPatch.context() as env:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            env.delenv(name, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_SESSION_TOKEN", "testing")
        env.setenv("AWS_DEFAULT_REGION", AWS_REGION)
        env.setenv("AWS_REGION", AWS_REGION)
        env.setenv("AWS_ENDPOINT_URL", endpoint)
        no_proxy = ",".join(filter(None, [host, os.environ.get("NO_PROXY")]))
        env.setenv("NO_PROXY", no_proxy)
        # One INFO line per request would flood the captured log of a failing test.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            yield endpoint
        finally:
            server.stop()


@pytest.fixture(scope="session")
def aws_client(moto_endpoint: str) -> Callable[[str], Any]:
    """Factory for boto3 clients bound to the moto server: ``aws_client("sqs")``."""

    def make(service: Any) -> Any:  # Any: boto3's overloads need a literal service name
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=AWS_REGION)

    return make


@pytest.fixture
def sqs(aws_client: Callable[[str], Any]) -> SQSClient:
    """An SQS client bound to the moto server."""
    client: SQSClient = aws_client("sqs")
    return client


@pytest.fixture
def dynamodb(aws_client: Callable[[str], Any]) -> Any:
    """A DynamoDB client bound to the moto server."""
    return aws_client("dynamodb")


@pytest.fixture
def idempotency_table(dynamodb: Any) -> str:
    """A new, empty idempotency table (the schema IdempotencyTable synthesizes); its name."""
    from tests.integration.dynamodb_tables import create_idempotency_table

    return create_idempotency_table(dynamodb)
