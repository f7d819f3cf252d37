"""The function building block every pattern reuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._encryption import log_group as new_log_group
from serverless_patterns.constructs._nag import (
    HIPAA,
    NIST,
    acknowledge,
    acknowledge_compliance,
    acknowledge_no_dlq,
)
from serverless_patterns.constructs._validation import check_prop_keys


class BaselineFunction(lambda_.Function):
    """Defines a Lambda function with production defaults.

    Defaults: the newest Python runtime, arm64, 256 MB, a 30 s timeout, active X-Ray tracing,
    JSON logs (application level INFO, system level WARN) to a log group kept for one month,
    and an execution role that may write only to that log group (no managed policies).
    Every default can be overridden through ``function_props``. The role and log group are
    created next to the function as ``<id>ServiceRole`` and ``<id>LogGroup``; passing ``role``
    or ``log_group`` in ``function_props`` uses yours instead.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        handler: str,
        function_props: Mapping[str, Any] | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param code: the function's code, for example ``runtime_code()``.
        :param handler: the handler, for example
            ``serverless_patterns.runtime.handlers.queue_worker.handler``.
        :param function_props: ``aws_lambda.Function`` keyword arguments that override the
            defaults; ``environment`` merges key by key; a key ``aws_lambda.Function`` does not
            take raises ValueError. Default: - the defaults above.
        :param encryption_key: a customer-managed key encrypting the new log group; its policy
            gets a statement letting CloudWatch Logs of this Region use it for this account's
            log groups. Default: - the log group is encrypted by CloudWatch Logs itself.
        """
        check_prop_keys(
            f"{scope.node.path}/{construct_id}", "function_props", function_props, lambda_.Function
        )
        overrides = dict(function_props or {})
        for key in ("code", "handler"):
            if key in overrides:
                raise ValueError(
                    f"{scope.node.path}/{construct_id}: pass '{key}' as its own argument, "
                    "not inside function_props"
                )
        log_group = overrides.pop("log_group", None) or new_log_group(
            scope,
            f"{construct_id}LogGroup",
            retention=_defaults.LOG_RETENTION,
            encryption_key=encryption_key,
        )
        own_role = "role" not in overrides
        role = overrides.pop("role", None) or iam.Role(
            scope,
            f"{construct_id}ServiceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Execution role: writes its own log group and X-Ray traces only.",
        )
        props = _defaults.merge_props(
            {
                "runtime": _defaults.python_runtime(),
                "architecture": lambda_.Architecture.ARM_64,
                "memory_size": _defaults.FUNCTION_MEMORY_MB,
                "timeout": _defaults.function_timeout(),
                "tracing": lambda_.Tracing.ACTIVE,
                "logging_format": lambda_.LoggingFormat.JSON,
                "application_log_level_v2": lambda_.ApplicationLogLevel.INFO,
                "system_log_level_v2": lambda_.SystemLogLevel.WARN,
            },
            overrides,
            {"code": code, "handler": handler, "log_group": log_group, "role": role},
        )
        super().__init__(scope, construct_id, **props)
        log_group.grant_write(role)
        _acknowledge_compliance(self, role if own_role else None)
        if own_role and props["tracing"] == lambda_.Tracing.ACTIVE:
            acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level "
                "permissions; the service requires Resource '*'.",
            )


def _acknowledge_compliance(function: lambda_.Function, own_role: iam.Role | None) -> None:
    """Acknowledges the compliance packs' function findings that hold for every pattern's
    function: no VPC (unless given one), no reserved concurrency (unless given one), and the
    inline policy of the function's own role."""
    resource = function.node.default_child
    assert isinstance(resource, lambda_.CfnFunction)
    if resource.vpc_config is None:
        acknowledge_compliance(
            function,
            "LambdaInsideVPC",
            "The function calls only AWS service APIs (over TLS, authenticated by its role) "
            "and no private resource; a VPC would add NAT or endpoints without protecting a "
            "data path. Pass 'vpc' in function_props to attach it to one.",
        )
    if resource.reserved_concurrent_executions is None:
        acknowledge_compliance(
            function,
            "LambdaConcurrency",
            "Reserved concurrency is set only where asked: it withdraws capacity from every "
            "other function of the account. Each pattern bounds the function where traffic "
            "arrives instead: SQS event sources have a maximum concurrency (10 by default), "
            "API stages are throttled, a stream is read by one batch per shard (times the "
            "parallelization factor).",
            (NIST, HIPAA),
        )
    if own_role is not None:
        acknowledge_compliance(
            own_role,
            "IAMNoInlinePolicy",
            "The role belongs to this one function and its inline policy lists only this "
            "function's grants, each on named resources; a managed policy is meant to be "
            "shared and could be attached to other principals.",
        )


F = TypeVar("F", bound=lambda_.IFunction)


def function_or_baseline(
    scope: Construct,
    existing: F | None,
    *,
    code: lambda_.Code | None,
    handler: str | None,
    function_props: Mapping[str, Any] | None,
    synchronous_reason: str,
    encryption_key: kms.IKey | None = None,
) -> F | BaselineFunction:
    """The ``existing`` function, or a new ``BaselineFunction`` with the id ``Function``.

    The new function is invoked synchronously by the pattern, so its Serverless-LambdaDLQ
    finding is acknowledged with ``synchronous_reason`` (a function DLQ applies only to
    asynchronous invocations); ``encryption_key`` encrypts its log group. Callers check first
    that ``code`` and ``handler`` are given when ``existing`` is None.
    """
    if existing is not None:
        return existing
    if code is None or handler is None:
        raise ValueError(
            f"{scope.node.path}: pass 'code' and 'handler' for a new function, "
            "or an existing 'function'"
        )
    function = BaselineFunction(
        scope,
        "Function",
        code=code,
        handler=handler,
        function_props=function_props,
        encryption_key=encryption_key,
    )
    acknowledge_no_dlq(function, synchronous_reason)
    return function


def reserved_concurrency(function: lambda_.IFunction) -> float | None:
    """The reserved concurrent executions a function of this app sets (a number or a token);
    None when it sets none or is imported (its setting cannot be read at synth)."""
    resource = function.node.default_child
    if isinstance(resource, lambda_.CfnFunction):
        reserved: float | None = resource.reserved_concurrent_executions
        return reserved
    return None
