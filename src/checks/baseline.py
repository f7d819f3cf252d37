"""``FunctionBaseline``: an opt-in Aspect giving every Lambda function the library's baseline."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Annotations, CfnResource, Fn, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct, IConstruct
from serverless_patterns.checks import runtimes
from serverless_patterns.checks._resources import LOG_RETENTION, referenced_id
from serverless_patterns.checks._values import default_log_group_names, string_parts

#: What Lambda needs to send traces (no resource-level permissions exist for these).
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
#: ``RetentionDays`` members in days (the values aws-cdk-lib writes for them).
_RETENTION_DAYS = {
    "ONE_DAY": 1,
    "THREE_DAYS": 3,
    "FIVE_DAYS": 5,
    "ONE_WEEK": 7,
    "TWO_WEEKS": 14,
    "ONE_MONTH": 30,
    "TWO_MONTHS": 60,
    "THREE_MONTHS": 90,
    "FOUR_MONTHS": 120,
    "FIVE_MONTHS": 150,
    "SIX_MONTHS": 180,
    "ONE_YEAR": 365,
    "THIRTEEN_MONTHS": 400,
    "EIGHTEEN_MONTHS": 545,
    "TWO_YEARS": 731,
    "THREE_YEARS": 1096,
    "FIVE_YEARS": 1827,
    "SIX_YEARS": 2192,
    "SEVEN_YEARS": 2557,
    "EIGHT_YEARS": 2922,
    "NINE_YEARS": 3288,
    "TEN_YEARS": 3653,
}


#: A default resolved when the Aspect is created: a jsii value as a parameter default would be
#: read while the module is imported (``tests/unit/test_import_cost.py``).
_DEFAULT: Any = object()


@jsii.implements(IAspect)
class FunctionBaseline:
    """Applies the function baseline to every Lambda function (``CfnFunction``) in a scope.

    ``Aspects.of(app).add(FunctionBaseline())``. For each function, only what is not set:

    - runtime: a Python function on an older Python runtime is moved to the newest
      (python3.14). The runtime is the one setting every function has, so "unset" cannot
      apply to it: pass ``python_runtime=None`` to leave runtimes alone. Other languages and
      container images are never changed, and a newer runtime is never downgraded.
    - architecture: arm64 when the function sets no ``Architectures`` (not for container
      images, whose architecture is the image's).
    - tracing: active X-Ray tracing when the function sets no ``TracingConfig``; its role is
      granted ``xray:PutTraceSegments`` and ``xray:PutTelemetryRecords`` (a function without a
      role this Aspect can reach is left untraced, with a warning).
    - log retention: set on the function's log group when that group is defined in the app
      without a retention; a function writing to its default ``/aws/lambda/<name>`` group
      with no log group defined for it gets one (``BaselineLogGroup``, kept on removal). A
      function that has already run has that group already: import it or set its retention
      instead, since CloudFormation cannot create a log group that exists.

    Values the function sets are never changed (except the Python runtime, as above).
    """

    def __init__(
        self,
        *,
        python_runtime: lambda_.Runtime | None = _DEFAULT,
        architecture: lambda_.Architecture | None = _DEFAULT,
        tracing: bool = True,
        log_retention: logs.RetentionDays | None = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        """
        :param python_runtime: the Python runtime older Python functions move to; None leaves
            runtimes alone. Default: - the newest (python3.14).
        :param architecture: the architecture of functions that set none; None leaves it.
            Default: - arm64.
        :param tracing: turn on active tracing where it is not set. Default: - True.
        :param log_retention: the retention of log groups without one; None leaves logs
            alone. Default: - one month.
        """
        if log_retention is not None and log_retention.value not in _RETENTION_DAYS:
            raise ValueError(
                f"FunctionBaseline: log_retention must be a finite retention, got {log_retention}"
            )
        self.python_runtime = (
            lambda_.Runtime.PYTHON_3_14 if python_runtime is _DEFAULT else python_runtime
        )
        self.architecture = (
            lambda_.Architecture.ARM_64 if architecture is _DEFAULT else architecture
        )
        self.tracing = tracing
        self.log_retention = log_retention

    def visit(self, node: IConstruct) -> None:
        """Applies the baseline to ``node`` if it is a ``CfnFunction``."""
        if not isinstance(node, lambda_.CfnFunction):
            return
        stack = Stack.of(node)
        is_image = stack.resolve(node.package_type) == "Image"
        if self.python_runtime is not None and not is_image:
            self._upgrade_python(node, stack)
        if self.architecture is not None and not is_image and node.architectures is None:
            node.architectures = [self.architecture.name]
        if self.tracing and node.tracing_config is None:
            self._trace(node)
        if self.log_retention is not None:
            self._retain_logs(node, stack)

    def _upgrade_python(self, node: lambda_.CfnFunction, stack: Stack) -> None:
        assert self.python_runtime is not None
        current = stack.resolve(node.runtime)
        have = runtimes.python_version(current) if isinstance(current, str) else None
        want = runtimes.python_version(self.python_runtime.name)
        if have is not None and want is not None and have < want:
            node.runtime = self.python_runtime.name

    def _trace(self, node: lambda_.CfnFunction) -> None:
        function = node.node.scope
        if isinstance(function, lambda_.Function) and function.role is not None:
            function.add_to_role_policy(
                iam.PolicyStatement(actions=list(XRAY_ACTIONS), resources=["*"])
            )
            node.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        else:
            Annotations.of(node).add_warning_v2(
                "serverless-patterns:functionBaseline:noTracing",
                "FunctionBaseline cannot reach this function's role to grant X-Ray access; "
                "tracing was not turned on.",
            )

    def _retain_logs(self, node: lambda_.CfnFunction, stack: Stack) -> None:
        assert self.log_retention is not None
        days = _RETENTION_DAYS[self.log_retention.value]
        logging: Any = stack.resolve(node.logging_config)
        named = logging.get("logGroup") if isinstance(logging, dict) else None
        groups = [
            c
            for c in stack.node.find_all()
            if isinstance(c, logs.CfnLogGroup)
            or (isinstance(c, CfnResource) and c.cfn_resource_type == LOG_RETENTION)
        ]
        if named is not None:
            wanted = referenced_id(named)
            for group in groups:
                if (
                    isinstance(group, logs.CfnLogGroup)
                    and stack.resolve(group.logical_id) == wanted
                    and group.retention_in_days is None
                ):
                    group.retention_in_days = days
            return  # a log group of another stack, or by name: not this Aspect's to change
        # the log group Lambda writes to by default, however its name is written (literal,
        # Fn::Join, Fn::Sub with or without a variable map)
        names = default_log_group_names(
            str(stack.resolve(node.logical_id)), stack.resolve(node.function_name)
        )
        default_groups = [
            g
            for g in groups
            if isinstance(g, logs.CfnLogGroup)
            and string_parts(stack.resolve(g.log_group_name)) in names
        ]
        has_retention_resource = any(
            not isinstance(g, logs.CfnLogGroup)
            and string_parts(stack.resolve(g._cfn_properties).get("LogGroupName")) in names
            for g in groups
        )
        for group in default_groups:
            if group.retention_in_days is None:
                group.retention_in_days = days
        if default_groups or has_retention_resource:
            return
        scope = node.node.scope
        assert isinstance(scope, Construct)
        group = logs.CfnLogGroup(
            scope,
            "BaselineLogGroup",
            log_group_name=Fn.join("", ["/aws/lambda/", node.ref]),
            retention_in_days=days,
        )
        group.apply_removal_policy(RemovalPolicy.RETAIN)
