"""Reference stack of pattern 4: a small JSON API released by canary with alarm rollback."""

from __future__ import annotations

from typing import Any

from constructs import Construct
from serverless_patterns.constructs import (
    DEFAULT_USAGE_TIERS,
    CanaryApi,
    SmokeCheck,
    runtime_code,
)
from serverless_patterns.stacks._reference_stack import ReferenceStack

HANDLER = "serverless_patterns.runtime.handlers.canary_api.handler"


class CanaryApiStack(ReferenceStack):
    """Defines a CanaryApi over the reference order API, with one API key per usage plan tier.

    The stack also holds the app's account-level API Gateway CloudWatch Logs role, which the
    CanaryApi defines first (the Webhooks stack's API reuses it, so that stack depends on
    this one).
    """

    SERVES_API = True

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.orders_api = CanaryApi(
            self,
            "OrdersApi",
            code=runtime_code(),
            handler=HANDLER,
            smoke_checks=[
                SmokeCheck(path="/health", expected_body={"status": "ok"}),
                SmokeCheck(
                    path="/orders",
                    method="POST",
                    body={"order_id": "smoke-check", "quantity": 1},
                    expected_status=201,
                    expected_body={"status": "accepted"},
                ),
                SmokeCheck(path="/orders", method="POST", body=None, expected_status=400),
            ],
            post_traffic_checks=[SmokeCheck(path="/health", expected_body={"status": "ok"})],
            usage_plans=DEFAULT_USAGE_TIERS,
            # One key per tier; read a value with `aws apigateway get-api-key --include-value`.
            api_keys={f"{tier.name}Client": tier.name for tier in DEFAULT_USAGE_TIERS},
            alarm_action=self.alarms.action,
            encryption_key=self.key,
            web_acl_arn=self.web_acl.attr_arn if self.web_acl is not None else None,
        )
