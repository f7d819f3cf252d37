"""IdempotencyTable and IdempotencyOptions: every default, the grants, every validation error."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from serverless_patterns.constructs import (
    IdempotencyOptions,
    IdempotencyTable,
    QueueWorker,
)

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
HANDLER = "index.handler"
ITEM_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
]
KEY_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
TABLE_NAME_ENV = "IDEMPOTENCY_TABLE_NAME"
EXPIRES_AFTER_ENV = "IDEMPOTENCY_EXPIRES_AFTER_SECONDS"


def worker(stack: Stack, construct_id: str = "Worker", **kwargs: Any) -> QueueWorker:
    if "function" not in kwargs:
        kwargs.setdefault("code", CODE)
        kwargs.setdefault("handler", HANDLER)
    return QueueWorker(stack, construct_id, **kwargs)


def ref(stack: Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def the_table(template: Template) -> Any:
    tables = template.find_resources("AWS::DynamoDB::Table")
    assert len(tables) == 1
    return next(iter(tables.values()))


def statements_of(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    """Statements of the policies attached to roles whose logical id starts with the prefix."""
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if any(r["Ref"].startswith(role_prefix) for r in policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(action: str | list[str]) -> list[str]:
    return [action] if isinstance(action, str) else action


def dynamodb_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]


def environment(template: Template, function_prefix: str) -> dict[str, Any]:
    functions = [
        f
        for logical_id, f in template.find_resources("AWS::Lambda::Function").items()
        if logical_id.startswith(function_prefix)
    ]
    assert len(functions) == 1
    variables: dict[str, Any] = functions[0]["Properties"]["Environment"]["Variables"]
    return variables


# --- IdempotencyTable defaults -----------------------------------------------------------------


def test_table_is_keyed_by_id_with_ttl_on_expiration(stack: Stack) -> None:
    IdempotencyTable(stack, "Records")
    props = the_table(Template.from_stack(stack))["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_table_is_on_demand_encrypted_with_point_in_time_recovery(stack: Stack) -> None:
    IdempotencyTable(stack, "Records")
    props = the_table(Template.from_stack(stack))["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    assert props["SSESpecification"] == {"SSEEnabled": True}  # the AWS-managed aws/dynamodb key
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "StreamSpecification" not in props


def test_table_is_retained_by_default(stack: Stack) -> None:
    IdempotencyTable(stack, "Records")
    table = the_table(Template.from_stack(stack))
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_removal_policy_is_configurable(stack: Stack) -> None:
    IdempotencyTable(stack, "Records", removal_policy=RemovalPolicy.DESTROY)
    table = the_table(Template.from_stack(stack))
    assert table["DeletionPolicy"] == "Delete"
    assert table["UpdateReplacePolicy"] == "Delete"


def test_table_props_override_the_defaults(stack: Stack) -> None:
    IdempotencyTable(
        stack,
        "Records",
        table_props={
            "table_name": "idempotency",
            "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=False
            ),
        },
    )
    props = the_table(Template.from_stack(stack))["Properties"]
    assert props["TableName"] == "idempotency"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}
    assert props["BillingMode"] == "PAY_PER_REQUEST"


def test_legacy_point_in_time_recovery_flag_replaces_the_default(stack: Stack) -> None:
    IdempotencyTable(stack, "Records", table_props={"point_in_time_recovery": False})
    props = the_table(Template.from_stack(stack))["Properties"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}


def test_table_is_an_attribute(stack: Stack) -> None:
    records = IdempotencyTable(stack, "Records")
    assert isinstance(records.table, dynamodb.Table)
    assert records.table.node.path == "Test/Records/Table"
    assert records.table.encryption_key is None


# --- grants ------------------------------------------------------------------------------------


def test_grant_records_allows_exactly_the_three_item_actions_on_the_table(stack: Stack) -> None:
    records = IdempotencyTable(stack, "Records")
    role = iam.Role(stack, "Consumer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    records.grant_records(role)
    statements = statements_of(Template.from_stack(stack), "Consumer")
    assert statements == [
        {
            "Action": ITEM_ACTIONS,
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [ref(stack, records.table), "Arn"]},
        }
    ]


def test_customer_managed_key_encrypts_the_table_and_is_granted(stack: Stack) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    records = IdempotencyTable(stack, "Records", encryption_key=key)
    role = iam.Role(stack, "Consumer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    records.grant_records(role)
    template = Template.from_stack(stack)
    key_arn = {"Fn::GetAtt": [ref(stack, key), "Arn"]}
    assert the_table(template)["Properties"]["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": key_arn,
    }
    assert records.table.encryption_key is key
    statements = statements_of(template, "Consumer")
    assert {"Action": KEY_ACTIONS, "Effect": "Allow", "Resource": key_arn} in statements
    assert dynamodb_statements(statements) == [
        {
            "Action": ITEM_ACTIONS,
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [ref(stack, records.table), "Arn"]},
        }
    ]
    assert not any("*" in a for s in statements for a in as_list(s["Action"]))


def test_customer_managed_key_grant_has_no_cdk_nag_finding(stack: Stack) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    worker(
        stack,
        idempotency=IdempotencyOptions(
            table=IdempotencyTable(stack, "Records", encryption_key=key)
        ),
    )
    for pack_type in (AwsSolutionsChecks, ServerlessChecks):
        report = pack_type(stack).validate_scope(stack)
        assert [
            f"{v.rule_name} at {r.construct_path}"
            for v in report.violations
            for r in v.violating_resources
        ] == []


# --- IdempotencyOptions on a QueueWorker ---------------------------------------------------------


def test_default_option_creates_a_table_inside_the_worker(stack: Stack) -> None:
    w = worker(stack, idempotency=IdempotencyOptions())
    template = Template.from_stack(stack)
    table = the_table(template)
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["DeletionPolicy"] == "Retain"
    assert w.idempotency_table is not None
    assert w.idempotency_table.node.path == "Test/Worker/IdempotencyTable/Table"
    assert environment(template, "WorkerFunction") == {
        TABLE_NAME_ENV: {"Ref": ref(stack, w.idempotency_table)},
        EXPIRES_AFTER_ENV: "3600",
    }


def test_worker_role_may_write_only_the_item_actions_of_its_table(stack: Stack) -> None:
    w = worker(stack, idempotency=IdempotencyOptions())
    assert w.idempotency_table is not None
    statements = statements_of(Template.from_stack(stack), "WorkerFunctionServiceRole")
    assert dynamodb_statements(statements) == [
        {
            "Action": ITEM_ACTIONS,
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [ref(stack, w.idempotency_table), "Arn"]},
        }
    ]
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not any("*" in a for a in actions)
    assert not any(a.startswith("kms:") for a in actions)


def test_expires_after_reaches_the_environment_in_seconds(stack: Stack) -> None:
    worker(stack, idempotency=IdempotencyOptions(expires_after=Duration.minutes(90)))
    assert environment(Template.from_stack(stack), "WorkerFunction")[EXPIRES_AFTER_ENV] == "5400"


def test_expires_after_may_be_a_deploy_time_token(stack: Stack) -> None:
    expiry = CfnParameter(stack, "Expiry", type="Number")
    worker(
        stack,
        idempotency=IdempotencyOptions(expires_after=Duration.seconds(expiry.value_as_number)),
    )
    variables = environment(Template.from_stack(stack), "WorkerFunction")
    assert variables[EXPIRES_AFTER_ENV] == {"Ref": "Expiry"}


def test_environment_merges_with_function_props(stack: Stack) -> None:
    worker(
        stack,
        function_props={"environment": {"STAGE": "test"}},
        idempotency=IdempotencyOptions(expires_after=Duration.seconds(60)),
    )
    variables = environment(Template.from_stack(stack), "WorkerFunction")
    assert variables["STAGE"] == "test"
    assert variables[EXPIRES_AFTER_ENV] == "60"
    assert set(variables) == {"STAGE", TABLE_NAME_ENV, EXPIRES_AFTER_ENV}


def test_without_the_option_there_is_no_table_and_no_environment(stack: Stack) -> None:
    w = worker(stack)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::DynamoDB::Table", 0)
    function = next(iter(template.find_resources("AWS::Lambda::Function").values()))
    assert "Environment" not in function["Properties"]
    assert w.idempotency_table is None


def test_a_shared_table_is_created_once_and_granted_to_each_worker(stack: Stack) -> None:
    records = IdempotencyTable(stack, "Records")
    payments = worker(stack, "Payments", idempotency=IdempotencyOptions(table=records))
    refunds = worker(
        stack,
        "Refunds",
        idempotency=IdempotencyOptions(table=records, expires_after=Duration.days(1)),
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    assert payments.idempotency_table is records.table
    assert refunds.idempotency_table is records.table
    table_ref = ref(stack, records.table)
    for prefix, expiry in (("Payments", "3600"), ("Refunds", "86400")):
        assert dynamodb_statements(statements_of(template, f"{prefix}FunctionServiceRole")) == [
            {
                "Action": ITEM_ACTIONS,
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [table_ref, "Arn"]},
            }
        ]
        assert environment(template, f"{prefix}Function") == {
            TABLE_NAME_ENV: {"Ref": table_ref},
            EXPIRES_AFTER_ENV: expiry,
        }


def test_an_imported_table_is_used_without_creating_one(stack: Stack) -> None:
    imported = dynamodb.Table.from_table_name(stack, "Existing", "shared-idempotency")
    w = worker(stack, idempotency=IdempotencyOptions(table=imported))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::DynamoDB::Table", 0)
    assert w.idempotency_table is imported
    assert environment(template, "WorkerFunction")[TABLE_NAME_ENV] == "shared-idempotency"
    assert dynamodb_statements(statements_of(template, "WorkerFunctionServiceRole")) == [
        {
            "Action": ITEM_ACTIONS,
            "Effect": "Allow",
            "Resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/shared-idempotency",
        }
    ]


def test_an_imported_table_with_a_customer_managed_key_grants_the_key(stack: Stack) -> None:
    key = kms.Key.from_key_arn(
        stack, "ExistingKey", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd"
    )
    imported = dynamodb.Table.from_table_attributes(
        stack, "Existing", table_name="shared-idempotency", encryption_key=key
    )
    worker(stack, idempotency=IdempotencyOptions(table=imported))
    statements = statements_of(Template.from_stack(stack), "WorkerFunctionServiceRole")
    assert {
        "Action": KEY_ACTIONS,
        "Effect": "Allow",
        "Resource": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd",
    } in statements


def test_an_imported_function_gets_the_grant_and_an_environment_warning(stack: Stack) -> None:
    role = iam.Role(stack, "OwnRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    fn = lambda_.Function.from_function_attributes(
        stack,
        "Imported",
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:worker",
        role=role,
    )
    w = worker(
        stack,
        function=fn,
        function_timeout=Duration.seconds(10),
        idempotency=IdempotencyOptions(expires_after=Duration.minutes(5)),
    )
    template = Template.from_stack(stack)
    assert w.idempotency_table is not None
    assert dynamodb_statements(statements_of(template, "OwnRole")) == [
        {
            "Action": ITEM_ACTIONS,
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [ref(stack, w.idempotency_table), "Arn"]},
        }
    ]
    Annotations.from_stack(stack).has_warning(
        "/Test/Worker",
        Match.string_like_regexp(
            r"set IDEMPOTENCY_TABLE_NAME to the idempotency table's name and "
            r"IDEMPOTENCY_EXPIRES_AFTER_SECONDS to 300 on it"
        ),
    )


def test_an_imported_function_without_role_gets_a_grant_warning(stack: Stack) -> None:
    fn = lambda_.Function.from_function_arn(
        stack, "Imported", "arn:aws:lambda:eu-west-1:123456789012:function:worker"
    )
    worker(
        stack,
        function=fn,
        function_timeout=Duration.seconds(10),
        idempotency=IdempotencyOptions(),
    )
    Annotations.from_stack(stack).has_warning(
        "/Test/Worker",
        Match.string_like_regexp(
            r"no known role: grant it dynamodb:PutItem, dynamodb:DeleteItem, "
            r"dynamodb:BatchGetItem on the idempotency table"
        ),
    )


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "instead"),
    [
        (
            "partition_key",
            dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            r"use nothing \(the runtime keys records by 'id'\)",
        ),
        (
            "sort_key",
            dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            r"records are keyed by 'id' alone",
        ),
        ("time_to_live_attribute", "ttl", r"the runtime writes 'expiration'"),
        ("billing_mode", dynamodb.BillingMode.PROVISIONED, r"the table is on-demand"),
        ("read_capacity", 5, r"the table is on-demand"),
        ("encryption", dynamodb.TableEncryption.DEFAULT, r"use encryption_key"),
        ("removal_policy", RemovalPolicy.DESTROY, r"use removal_policy instead"),
    ],
)
def test_pattern_owned_table_props_are_rejected(
    stack: Stack, key: str, value: object, instead: str
) -> None:
    with pytest.raises(
        ValueError,
        match=rf"Test/Records: table_props\['{key}'\] is set by IdempotencyTable; .*{instead}",
    ):
        IdempotencyTable(stack, "Records", table_props={key: value})
    assert stack.node.try_find_child("Records").node.children == []  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("expires_after", "message"),
    [
        (
            Duration.seconds(0),
            r"Test/Worker: idempotency expires_after \(seconds\) must be between 1 and "
            r"2592000, got 0",
        ),
        (
            Duration.seconds(30 * 24 * 3600 + 1),
            r"Test/Worker: idempotency expires_after \(seconds\) must be between 1 and "
            r"2592000, got 2592001",
        ),
        (
            Duration.millis(1500),
            r"Test/Worker: idempotency expires_after must be a whole number of seconds, "
            r"got 1.5 s",
        ),
    ],
)
def test_invalid_expires_after_raises_before_any_resource(
    stack: Stack, expires_after: Duration, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        worker(stack, idempotency=IdempotencyOptions(expires_after=expires_after))
    assert stack.node.try_find_child("Worker").node.children == []  # type: ignore[union-attr]


def test_thirty_days_is_accepted(stack: Stack) -> None:
    worker(stack, idempotency=IdempotencyOptions(expires_after=Duration.days(30)))
    assert environment(Template.from_stack(stack), "WorkerFunction")[EXPIRES_AFTER_ENV] == (
        "2592000"
    )


# --- expires_after covers an attempt ----------------------------------------------------------


def test_expires_after_shorter_than_the_function_timeout_is_an_error(stack: Stack) -> None:
    with pytest.raises(
        ValueError,
        match=r"^Test/Worker: idempotency expires_after \(10 seconds\) is shorter than the "
        r"function's timeout \(30 seconds\)",
    ):
        worker(stack, idempotency=IdempotencyOptions(expires_after=Duration.seconds(10)))
    Template.from_stack(stack).resource_count_is("AWS::DynamoDB::Table", 0)


@pytest.mark.parametrize(("timeout", "expires_after"), [(30, 30), (30, 31), (900, 3600)])
def test_expires_after_covering_the_function_timeout_is_fine(
    stack: Stack, timeout: int, expires_after: int
) -> None:
    worker(
        stack,
        function_props={"timeout": Duration.seconds(timeout)},
        idempotency=IdempotencyOptions(expires_after=Duration.seconds(expires_after)),
    )
    assert environment(Template.from_stack(stack), "WorkerFunction")[EXPIRES_AFTER_ENV] == (
        str(expires_after)
    )


def test_expires_after_is_checked_against_an_existing_functions_timeout(stack: Stack) -> None:
    function = lambda_.Function(
        stack,
        "Own",
        code=CODE,
        handler=HANDLER,
        runtime=lambda_.Runtime.PYTHON_3_13,
        timeout=Duration.minutes(2),
    )
    with pytest.raises(ValueError, match=r"\(1 minute\) is shorter than the function's timeout"):
        worker(
            stack,
            function=function,
            idempotency=IdempotencyOptions(expires_after=Duration.minutes(1)),
        )
