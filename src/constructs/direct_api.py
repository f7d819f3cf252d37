"""DirectApi: a REST API that calls SQS, EventBridge, DynamoDB and Step Functions directly
(pattern 9, "use Lambda functions to transform data, not to transport data")."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import ArnFormat, Duration, Names, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_wafv2 as wafv2

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs import _direct_templates as templates
from serverless_patterns.constructs._alarms import AlarmSpec, threshold_alarms
from serverless_patterns.constructs._api_hygiene import (
    MAX_INTEGRATION_TIMEOUT_MS,
    THROTTLING_BURST_LIMIT,
    THROTTLING_RATE_LIMIT,
    error_rate,
    grant_invoke_stage,
    pattern_api,
    protect_stage,
    stage_metric,
    validate_requests,
)
from serverless_patterns.constructs._direct_templates import FieldType
from serverless_patterns.constructs._nag import acknowledge, acknowledge_compliance
from serverless_patterns.constructs._queue import SEND_KEY_ACTIONS
from serverless_patterns.constructs._validation import check_range
from serverless_patterns.constructs.api_gateway_account import (
    ApiGatewayCloudWatchRole,
    depend_on_cloud_watch_role,
)
from serverless_patterns.constructs.idempotency_table import KEY_ACTIONS as TABLE_KEY_ACTIONS

__all__ = ["DirectApi", "DirectApiAlarms", "DirectRoute", "FieldType"]

#: Key actions to read items of a table encrypted with a customer-managed key (those of
#: ``TABLE_KEY_ACTIONS`` that do not encrypt).
TABLE_READ_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
_PATH = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JSON = "application/json"
#: Status codes a route may answer; each is a method response with a JSON body.
_ERROR_STATUSES = (400, 404, 409, 429, 500, 502, 504)


@dataclass(frozen=True)
class DirectApiAlarms:
    """Alarm thresholds of a DirectApi; set one to None to leave that alarm out.

    :param api_5xx_rate_percent: share of API responses that are 5xx (``5XXError`` average of
        the stage: a service failed or refused the route's role), in percent. Default: - 1 %.
    :param api_4xx_rate_percent: share of API responses that are 4xx (refused bodies, 409
        conflicts, 429 throttling, unsigned callers), in percent. Default: - 10 %.
    :param period: the period each metric is evaluated over. Default: - 5 minutes.
    """

    api_5xx_rate_percent: float | None = 1.0
    api_4xx_rate_percent: float | None = 10.0
    period: Duration = field(default_factory=_defaults.metric_period)


@dataclass(frozen=True)
class DirectRoute:
    """One route of a DirectApi: its method, its integration role and its request model.

    :param method: the API method (``POST /orders``).
    :param role: the role API Gateway calls the service with: one action on one resource.
    :param model: the JSON Schema model the request body is validated against; None for
        routes without a body (GetItem).
    """

    method: apigw.Method
    role: iam.Role
    model: apigw.Model | None


class DirectApi(Construct):
    """Defines a REST API whose routes call AWS services without a Lambda function.

    By default it creates a REST API with IAM (SigV4) authorization on every method, one
    request validator (body and parameters), a stage ``prod`` with JSON access logs kept one
    month, X-Ray tracing and throttling (100 requests/s, burst 200). Each ``add_*`` route adds
    a JSON Schema model, an escaped request mapping template, integration responses that map
    service errors to fixed JSON messages (4xx of the service: 500, throttling: 429, 5xx: 502),
    and an IAM role allowed exactly one action on one resource. A request whose body is not
    JSON (``Content-Type`` other than ``application/json``) is refused with 415, and a body
    the model refuses with 400, before AWS is called.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str = "prod",
        throttling_rate_limit: float = THROTTLING_RATE_LIMIT,
        throttling_burst_limit: int = THROTTLING_BURST_LIMIT,
        access_log_retention: logs.RetentionDays = _defaults.LOG_RETENTION,
        integration_timeout: Duration | None = None,
        cloud_watch_role: bool = True,
        encryption_key: kms.IKey | None = None,
        web_acl_arn: str | None = None,
        alarms: DirectApiAlarms | None = None,
        alarm_action: cloudwatch.IAlarmAction | None = None,
    ) -> None:
        """
        :param stage_name: the deployment stage. Default: - ``prod``.
        :param throttling_rate_limit: stage steady-state requests per second (0-10,000).
            Default: - 100.
        :param throttling_burst_limit: stage burst (0-5,000). Default: - 200.
        :param access_log_retention: how long access logs are kept. Default: - one month.
        :param integration_timeout: how long API Gateway waits for the service (50 ms to 29 s;
            a synchronous Express execution that runs longer is answered 504 by API Gateway,
            although it runs on, up to its 5-minute limit). Default: - 29 s.
        :param cloud_watch_role: make the stage depend on the app's account-level API Gateway
            CloudWatch Logs role (``ApiGatewayCloudWatchRole``). Default: - the app's single
            role is created once per app and environment; pass False if your account has one.
        :param encryption_key: a customer-managed key for the access log group (its policy lets
            CloudWatch Logs of this Region use it). The targets are yours: encrypt them as you
            choose; a queue's or table's key is granted to the route's role.
            Default: - CloudWatch Logs' own encryption.
        :param web_acl_arn: ARN of a regional WAFv2 web ACL to associate with the stage.
            Default: - no web ACL.
        :param alarms: alarm thresholds. Default: - ``DirectApiAlarms()`` (5xx rate 1 %, 4xx
            rate 10 %).
        :param alarm_action: action for every alarm (ALARM and OK).
            Default: - alarms without actions.
        """
        super().__init__(scope, construct_id)
        timeout = integration_timeout or Duration.millis(MAX_INTEGRATION_TIMEOUT_MS)
        check_range(self, "throttling_rate_limit", throttling_rate_limit, 0, 10_000)
        check_range(self, "throttling_burst_limit", throttling_burst_limit, 0, 5_000)
        check_range(
            self,
            "integration_timeout (ms)",
            timeout.to_milliseconds(),
            50,
            MAX_INTEGRATION_TIMEOUT_MS,
        )
        self._timeout = timeout
        #: The REST API (``api``) and the log group of its stage's access logs
        #: (``access_log_group``).
        self.api, self.access_log_group = pattern_api(
            self,
            stage_name=stage_name,
            access_log_retention=access_log_retention,
            encryption_key=encryption_key,
            throttling_rate_limit=throttling_rate_limit,
            throttling_burst_limit=throttling_burst_limit,
            rest_api_name=Names.unique_id(self),
            description="Direct service integrations (no Lambda function)",
        )
        #: The request validator of every method (body and parameters).
        self.request_validator = validate_requests(self.api)
        #: The stage's web ACL association; None without ``web_acl_arn``.
        self.web_acl_association: wafv2.CfnWebACLAssociation | None = protect_stage(
            self.api.deployment_stage, web_acl_arn
        )
        acknowledge_compliance(
            self.api.deployment_stage,
            "APIGWSSLEnabled",
            "Every integration calls an AWS service API over HTTPS, signed with SigV4 by the "
            "route's role; a client certificate authenticates API Gateway only to HTTP backends.",
        )
        #: The app's account-level CloudWatch Logs role the stage comes after; None with
        #: ``cloud_watch_role=False``.
        self.cloud_watch_role: ApiGatewayCloudWatchRole | None = depend_on_cloud_watch_role(
            self.api.deployment_stage, enabled=cloud_watch_role
        )
        #: The routes added, by route id.
        self.routes: dict[str, DirectRoute] = {}
        self._stage_name = stage_name
        #: The alarms created, in the order: API 5xx rate, API 4xx rate.
        self.alarms: list[cloudwatch.Alarm] = self._create_alarms(
            alarms or DirectApiAlarms(), alarm_action
        )

    # --- routes ---------------------------------------------------------------------------

    def add_send_message(
        self,
        route_id: str,
        *,
        path: str,
        queue: sqs.IQueue,
        schema: apigw.JsonSchema | None = None,
        message_group_field: str | None = None,
    ) -> DirectRoute:
        """``POST /path``: the JSON body becomes one SQS message; answers
        ``{"messageId": ...}``.

        :param schema: the body's JSON Schema. Default: - any JSON object.
        :param message_group_field: for a FIFO queue, the body's top-level string field that is
            the message group id (required by the model); the deduplication id is the API
            request id. Default: - no group (a standard queue).
        """
        self._check_route(route_id, path)
        if message_group_field is not None:
            self._check_name(route_id, "message_group_field", message_group_field)
        body_schema = schema or _any_object()
        if message_group_field is not None:
            body_schema = _requiring(body_schema, message_group_field)
        account = Stack.of(self).split_arn(queue.queue_arn, ArnFormat.NO_RESOURCE_NAME).account
        keys = [queue.encryption_master_key] if queue.encryption_master_key else []
        role = self._role(route_id, "sqs:SendMessage", queue.queue_arn)
        for key in keys:
            key.grant(role, *SEND_KEY_ACTIONS)
        integration = self._integration(
            "sqs",
            role,
            templates.send_message_request(message_group_field),
            templates.send_message_response(),
            path=f"{account}/{queue.queue_name}",
            content_type="'application/x-www-form-urlencoded'",
            accept="'application/json'",
        )
        return self._add(
            route_id, path, "POST", integration=integration, role=role, schema=body_schema
        )

    def add_put_events(
        self,
        route_id: str,
        *,
        path: str,
        event_bus: events.IEventBus,
        source: str,
        detail_type: str,
        schema: apigw.JsonSchema | None = None,
    ) -> DirectRoute:
        """``POST /path``: one event on ``event_bus`` with ``source`` and ``detail_type`` fixed
        by the route and the body as its detail; answers ``{"eventId": ...}``. A failed entry
        (PutEvents answers 200 with ``FailedEntryCount`` 1) is 429 when throttled, else 502.

        :param schema: the body's JSON Schema. Default: - any JSON object.
        """
        self._check_route(route_id, path)
        role = self._role(route_id, "events:PutEvents", event_bus.event_bus_arn)
        integration = self._integration(
            "events",
            role,
            templates.put_events_request(event_bus.event_bus_arn, source, detail_type),
            templates.put_events_response(),
            action="PutEvents",
            content_type="'application/x-amz-json-1.1'",
            target="'AWSEvents.PutEvents'",
        )
        return self._add(
            route_id,
            path,
            "POST",
            integration=integration,
            role=role,
            schema=schema or _any_object(),
        )

    def add_put_item(
        self,
        route_id: str,
        *,
        path: str,
        table: dynamodb.ITable,
        key: str,
        fields: Mapping[str, FieldType],
    ) -> DirectRoute:
        """``POST /path``: the body's declared ``fields`` (all required, no others) become a
        new item; answers 201 ``{"created": true}``, or 409 when an item with that ``key``
        exists (it is never overwritten).

        :param key: the table's partition key, a STRING field of ``fields``.
        :param fields: the item's attributes and their types.
        """
        self._check_route(route_id, path)
        self._check_fields(route_id, key, fields)
        role = self._role(route_id, "dynamodb:PutItem", table.table_arn)
        if table.encryption_key is not None:
            table.encryption_key.grant(role, *TABLE_KEY_ACTIONS)
        integration = self._integration(
            "dynamodb",
            role,
            templates.put_item_request(table.table_name, key, fields),
            templates.put_item_response(),
            action="PutItem",
            success_status="201",
        )
        return self._add(
            route_id,
            path,
            "POST",
            integration=integration,
            role=role,
            schema=_fields_schema(key, fields),
            success_status="201",
        )

    def add_get_item(
        self,
        route_id: str,
        *,
        path: str,
        table: dynamodb.ITable,
        key: str,
        fields: Mapping[str, FieldType],
    ) -> DirectRoute:
        """``GET /path/{key}``: reads the item (strongly consistent) and answers its declared
        ``fields`` as plain JSON, or 404 when there is none.

        :param key: the table's partition key, a STRING field of ``fields``; also the name of
            the path parameter.
        :param fields: the attributes answered and their types.
        """
        self._check_route(route_id, path)
        self._check_fields(route_id, key, fields)
        role = self._role(route_id, "dynamodb:GetItem", table.table_arn)
        if table.encryption_key is not None:
            table.encryption_key.grant(role, *TABLE_READ_KEY_ACTIONS)
        integration = self._integration(
            "dynamodb",
            role,
            templates.get_item_request(table.table_name, key, FieldType.STRING, key),
            templates.get_item_response(fields),
            action="GetItem",
        )
        return self._add(
            route_id,
            f"{path.strip('/')}/{{{key}}}",
            "GET",
            integration=integration,
            role=role,
            schema=None,
        )

    def add_start_sync_execution(
        self,
        route_id: str,
        *,
        path: str,
        state_machine: sfn.IStateMachine,
        schema: apigw.JsonSchema | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> DirectRoute:
        """``POST /path``: runs the Express ``state_machine`` with the body as input and
        answers its output; a FAILED execution is 502, TIMED_OUT 504 (StartSyncExecution
        itself answers 200 OK "even if your execution fails", Step Functions API reference).

        Limits: API Gateway waits at most 29 s (then answers 504 while the execution runs on)
        and an Express execution runs at most 5 minutes ("Standard and Express workflow
        types"); StartSyncExecution works only on Express state machines.

        :param schema: the body's JSON Schema. Default: - any JSON object.
        :param encryption_key: the customer-managed key the state machine is encrypted with;
            the route's role may decrypt and generate data keys with it (Step Functions API
            reference, StartSyncExecution: callers of a state machine encrypted with a KMS key
            need kms:Decrypt). Default: - none (AWS owned encryption).
        """
        self._check_route(route_id, path)
        role = self._role(route_id, "states:StartSyncExecution", state_machine.state_machine_arn)
        if encryption_key is not None:
            encryption_key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        integration = self._integration(
            "states",
            role,
            templates.start_sync_execution_request(state_machine.state_machine_arn),
            templates.start_sync_execution_response(),
            action="StartSyncExecution",
        )
        return self._add(
            route_id,
            path,
            "POST",
            integration=integration,
            role=role,
            schema=schema or _any_object(),
        )

    def grant_invoke_api(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants ``execute-api:Invoke`` on every method of the stage (IAM authorization)."""
        return grant_invoke_stage(self.api, grantee)

    def metric_api(
        self, metric_name: str, *, statistic: str, period: Duration
    ) -> cloudwatch.Metric:
        """``AWS/ApiGateway`` ``metric_name`` of the stage (dimensions ``ApiName``, ``Stage``)."""
        return stage_metric(
            self, self.api, self._stage_name, metric_name, statistic=statistic, period=period
        )

    # --- internals ------------------------------------------------------------------------

    def _create_alarms(
        self, thresholds: DirectApiAlarms, action: cloudwatch.IAlarmAction | None
    ) -> list[cloudwatch.Alarm]:
        period = thresholds.period

        def rate(metric_name: str, label: str) -> cloudwatch.MathExpression:
            errors = self.metric_api(metric_name, statistic="Average", period=period)
            return error_rate(errors, label=label, period=period)

        wanted: list[AlarmSpec] = [
            (
                "Api5xxRate",
                rate("5XXError", "5XX rate (%)"),
                thresholds.api_5xx_rate_percent,
                "Share (%) of direct-integration requests answered 5XX is too high: a service "
                "failed, or refused a route's role.",
            ),
            (
                "Api4xxRate",
                rate("4XXError", "4XX rate (%)"),
                thresholds.api_4xx_rate_percent,
                "Share (%) of direct-integration requests answered 4XX is too high: refused "
                "bodies, conflicts, throttling or unsigned callers.",
            ),
        ]
        return threshold_alarms(self, wanted, action=action)

    def _check_route(self, route_id: str, path: str) -> None:
        """Raises before any resource of the route exists: a reused id, or a path that is not
        plain segments."""
        if route_id in self.routes or self.node.try_find_child(f"{route_id}Role") is not None:
            raise ValueError(f"{self.node.path}: route id {route_id!r} is already used")
        if not _PATH.match(path.strip("/")):
            raise ValueError(
                f"{self.node.path}/{route_id}: path must be segments of letters, digits, '.', "
                f"'_' and '-', got {path!r}"
            )

    def _check_name(self, route_id: str, name: str, value: str) -> None:
        if not _NAME.match(value):
            raise ValueError(
                f"{self.node.path}/{route_id}: {name} must be a plain field name (letters, "
                f"digits, '_'), got {value!r}"
            )

    def _check_fields(self, route_id: str, key: str, fields: Mapping[str, FieldType]) -> None:
        for name in fields:
            self._check_name(route_id, "a field name", name)
        if fields.get(key) is not FieldType.STRING:
            raise ValueError(
                f"{self.node.path}/{route_id}: key {key!r} must be a STRING field of fields, "
                f"got {fields.get(key)!r}"
            )

    def _role(self, route_id: str, action: str, resource_arn: str) -> iam.Role:
        role = iam.Role(
            self,
            f"{route_id}Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description=f"DirectApi route {route_id}: {action} only.",
        )
        role.add_to_policy(iam.PolicyStatement(actions=[action], resources=[resource_arn]))
        acknowledge_compliance(
            role,
            "IAMNoInlinePolicy",
            f"The role belongs to the one route {route_id}: its inline policy allows {action} "
            "on one resource (and the key that resource uses); a managed policy is meant to be "
            "shared and could be attached to other principals.",
        )
        return role

    def _integration(
        self,
        service: str,
        role: iam.IRole,
        request_template: str,
        response_template: str,
        *,
        action: str | None = None,
        path: str | None = None,
        content_type: str | None = None,
        target: str | None = None,
        accept: str | None = None,
        success_status: str = "200",
    ) -> apigw.AwsIntegration:
        """The integration of a route: a POST to the AWS ``service``'s API ``action`` (or
        ``path``) with the route's role, templates and headers; the request body
        only through the JSON template (other content types: 415, "Method request behavior
        for payloads without mapping templates"); the service's 4xx and 5xx answers chosen by
        status code (for AWS integrations the selection pattern matches the HTTP status,
        "Set up an integration response in API Gateway")."""
        headers = {
            "integration.request.header.Content-Type": content_type,
            "integration.request.header.X-Amz-Target": target,
            "integration.request.header.Accept": accept,
        }
        options = apigw.IntegrationOptions(
            credentials_role=role,
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            request_parameters={name: value for name, value in headers.items() if value},
            request_templates={_JSON: request_template},
            timeout=self._timeout,
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code=success_status, response_templates={_JSON: response_template}
                ),
                apigw.IntegrationResponse(
                    status_code="500",
                    selection_pattern=r"4\d{2}",
                    response_templates={_JSON: templates.service_error_response(500)},
                ),
                apigw.IntegrationResponse(
                    status_code="502",
                    selection_pattern=r"5\d{2}",
                    response_templates={_JSON: templates.service_error_response(502)},
                ),
            ],
        )
        return apigw.AwsIntegration(
            service=service,
            action=action,
            path=path,
            integration_http_method="POST",
            options=options,
        )

    def _add(
        self,
        route_id: str,
        path: str,
        http_method: str,
        *,
        integration: apigw.Integration,
        role: iam.Role,
        schema: apigw.JsonSchema | None,
        success_status: str = "200",
    ) -> DirectRoute:
        model = (
            self.api.add_model(f"{route_id}Model", content_type=_JSON, schema=schema)
            if schema is not None
            else None
        )
        parameters = re.findall(r"{(\w+)}", path)
        method = self.api.root.resource_for_path(path.strip("/")).add_method(
            http_method,
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=self.request_validator,
            request_models={_JSON: model} if model is not None else None,
            request_parameters={f"method.request.path.{name}": True for name in parameters} or None,
            method_responses=[
                apigw.MethodResponse(status_code=status, response_models={_JSON: _model})
                for status, _model in _method_responses(success_status)
            ],
        )
        acknowledge(
            method,
            "AwsSolutions-COG4",
            "The method uses IAM (SigV4) authorization, the library default for APIs.",
        )
        route = DirectRoute(method=method, role=role, model=model)
        self.routes[route_id] = route
        return route


def _method_responses(success_status: str) -> Sequence[tuple[str, apigw.IModel]]:
    return [(success_status, apigw.Model.EMPTY_MODEL)] + [
        (str(status), apigw.Model.ERROR_MODEL) for status in _ERROR_STATUSES
    ]


def _any_object() -> apigw.JsonSchema:
    return apigw.JsonSchema(schema=apigw.JsonSchemaVersion.DRAFT4, type=apigw.JsonSchemaType.OBJECT)


#: SQS SendMessage, MessageGroupId: up to 128 characters, alphanumeric and punctuation
#: (printable ASCII without the space, Amazon SQS API reference).
MESSAGE_GROUP_PATTERN = "^[!-~]{1,128}$"


def _requiring(schema: apigw.JsonSchema, field_name: str) -> apigw.JsonSchema:
    """``schema`` that also requires ``field_name``, a string SQS accepts as a group id."""
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        type=apigw.JsonSchemaType.OBJECT,
        all_of=[
            schema,
            apigw.JsonSchema(
                type=apigw.JsonSchemaType.OBJECT,
                required=[field_name],
                properties={
                    field_name: apigw.JsonSchema(
                        type=apigw.JsonSchemaType.STRING, pattern=MESSAGE_GROUP_PATTERN
                    )
                },
            ),
        ],
    )


def _string(min_length: int) -> apigw.JsonSchema:
    return apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=min_length)


def _fields_schema(key: str, fields: Mapping[str, FieldType]) -> apigw.JsonSchema:
    """Every declared field required with its type, no other field; the key non-empty
    (DynamoDB refuses an empty key string)."""
    properties = {
        name: _string(1) if name == key else apigw.JsonSchema(type=_schema_type(field_type))
        for name, field_type in fields.items()
    }
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        type=apigw.JsonSchemaType.OBJECT,
        required=list(fields),
        properties=properties,
        additional_properties=False,
    )


def _schema_type(field_type: FieldType) -> apigw.JsonSchemaType:
    return {
        FieldType.STRING: apigw.JsonSchemaType.STRING,
        FieldType.NUMBER: apigw.JsonSchemaType.NUMBER,
        FieldType.BOOLEAN: apigw.JsonSchemaType.BOOLEAN,
    }[field_type]
