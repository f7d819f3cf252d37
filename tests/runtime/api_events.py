"""API Gateway REST proxy events in the exact shape the Lambda proxy integration delivers."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any

ACCOUNT_ID = "123456789012"
API_ID = "a1b2c3d4e5"


def proxy_event(
    method: str,
    path: str,
    *,
    body: str | bytes | None = None,
    base64_body: bool = False,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, list[str]] | None = None,
    resource: str = "/{proxy+}",
    request_id: str | None = None,
) -> dict[str, Any]:
    """A proxy event as API Gateway sends it: every key present, ``None`` where it has none.

    ``headers`` holds the last value of each header, ``multiValueHeaders`` every value, like
    API Gateway; ``base64_body`` encodes the body as API Gateway does for binary media types.
    """
    all_headers: dict[str, str] = {
        "Accept": "application/json",
        "Host": f"{API_ID}.execute-api.eu-west-1.amazonaws.com",
        "User-Agent": "python-requests/2.32.3",
        "X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678",
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    request_id = request_id or str(uuid.uuid4())
    if isinstance(body, bytes) or (base64_body and body is not None):
        raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        encoded_body: str | None = base64.b64encode(raw).decode()
        is_base64 = True
    else:
        encoded_body = body
        is_base64 = False
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": dict(query) if query else None,
        "pathParameters": {"proxy": path.lstrip("/")} if resource == "/{proxy+}" else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "c8Yk6FcODoEFZ0g=",
            "requestTime": "25/Nov/2026:21:00:00 +0000",
            "path": f"/prod{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": API_ID,
            "requestTimeEpoch": 1_795_640_400_000,
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": ACCOUNT_ID,
                "cognitoIdentityId": None,
                "caller": "AROAEXAMPLE:caller",
                "sourceIp": "198.51.100.7",
                "principalOrgId": None,
                "accessKey": "ASIAEXAMPLE",
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/caller/session",
                "userAgent": "python-requests/2.32.3",
                "user": "AROAEXAMPLE:caller",
            },
            "domainName": f"{API_ID}.execute-api.eu-west-1.amazonaws.com",
            "apiId": API_ID,
        },
        "body": encoded_body,
        "isBase64Encoded": is_base64,
    }
