"""What every reference stack starts with: its key when hardened, a web ACL for the stacks
that serve an API, and the alarm topic."""

from __future__ import annotations

from typing import Any, ClassVar

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_wafv2 as wafv2

from constructs import Construct
from serverless_patterns.constructs import AlarmTopic
from serverless_patterns.stacks._hardening import rate_limited_web_acl, stack_key


class ReferenceStack(Stack):
    """A stack of the reference app (``build_reference_app``)."""

    #: Whether the stack serves an API, which a hardened stack puts behind a web ACL.
    SERVES_API: ClassVar[bool] = False

    def __init__(
        self, scope: Construct, construct_id: str, *, hardened: bool = False, **kwargs: Any
    ) -> None:
        """:param hardened: encrypt everything with one customer-managed key of the stack, and
        put the stack's API behind a rate-limiting web ACL
        (``build_reference_app(app, hardened=True)``).
        Default: - the library's default encryption, no web ACL."""
        super().__init__(scope, construct_id, **kwargs)
        #: The key of everything the stack stores or logs; None unless hardened.
        self.key: kms.Key | None = stack_key(self, hardened)
        #: The web ACL of the stack's API; None unless hardened and ``SERVES_API``.
        self.web_acl: wafv2.CfnWebACL | None = (
            rate_limited_web_acl(self, "WebAcl", self.key) if hardened and self.SERVES_API else None
        )
        #: The topic every alarm of the stack notifies.
        self.alarms = AlarmTopic(self, "Alarms", encryption_key=self.key)
