"""IdempotencyTable: the DynamoDB table of idempotency records (pattern 2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from constructs import Construct
from serverless_patterns.constructs import _defaults
from serverless_patterns.constructs._nag import HIPAA, NIST, acknowledge_compliance
from serverless_patterns.constructs._validation import check_prop_keys
from serverless_patterns.runtime.idempotency import schema

#: Key actions a principal needs to read and write items of a table encrypted with a
#: customer-managed key (the DynamoDB write grant of aws-cdk-lib without its wildcards: the
#: runtime never re-encrypts, and names each action so cdk-nag IAM5 has nothing to report).
KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")

#: table_props keys the pattern sets itself, and the argument to use instead.
_PATTERN_TABLE_KEYS = {
    "partition_key": f"nothing (the runtime keys records by {schema.KEY_ATTRIBUTE!r})",
    "sort_key": f"nothing (records are keyed by {schema.KEY_ATTRIBUTE!r} alone)",
    "time_to_live_attribute": f"nothing (the runtime writes {schema.EXPIRY_ATTRIBUTE!r})",
    "billing_mode": "nothing (the table is on-demand)",
    "read_capacity": "nothing (the table is on-demand)",
    "write_capacity": "nothing (the table is on-demand)",
    "encryption": "encryption_key (the table is always encrypted at rest)",
    "encryption_key": "encryption_key",
    "removal_policy": "removal_policy",
}
_PITR_KEYS = ("point_in_time_recovery", "point_in_time_recovery_specification")


def grant_item_actions(table: dynamodb.ITable, grantee: iam.IGrantable) -> iam.Grant:
    """Grants exactly the item actions of the idempotency runtime on ``table``.

    ``schema.ITEM_ACTIONS`` on the table's ARN, plus ``KEY_ACTIONS`` on its customer-managed
    key when the table has one (``ITable.grant`` leaves the key out).
    """
    grant = table.grant(grantee, *schema.ITEM_ACTIONS)
    if table.encryption_key is not None:
        grant = grant.combine(table.encryption_key.grant(grantee, *KEY_ACTIONS))
    return grant


class IdempotencyTable(Construct):
    """Defines a DynamoDB table for idempotency records.

    By default: partition key ``id`` (string), time to live on ``expiration``, on-demand
    billing, encryption at rest with the AWS-managed key (``aws/dynamodb``), point-in-time
    recovery on, and the table is kept (RETAIN) when it leaves the stack. The attribute names
    come from ``serverless_patterns.runtime.idempotency.schema``, the runtime's contract.
    Several functions can share one table: ``grant_records`` each of them (consumers given
    ``IdempotencyOptions(table=...)`` do this themselves).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        table_props: Mapping[str, Any] | None = None,
    ) -> None:
        """
        :param encryption_key: a customer-managed key to encrypt the table with; functions
            granted with ``grant_records`` may use it. Default: - the AWS-managed key
            ``aws/dynamodb``.
        :param removal_policy: what happens to the table when it leaves the stack.
            Default: - ``RemovalPolicy.RETAIN`` (the table and its records are kept).
        :param table_props: ``aws_dynamodb.Table`` keyword arguments overriding the defaults,
            for example ``table_name`` or ``point_in_time_recovery_specification``. The key
            schema, the TTL attribute, billing, encryption and the removal policy are the
            pattern's to set. Default: - the defaults above.
        """
        super().__init__(scope, construct_id)
        check_prop_keys(self.node.path, "table_props", table_props, dynamodb.Table)
        self._reject_pattern_table_keys(table_props)
        defaults: dict[str, Any] = {}
        if not any(key in (table_props or {}) for key in _PITR_KEYS):
            defaults["point_in_time_recovery_specification"] = (
                dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
            )
        props = _defaults.merge_props(
            defaults,
            table_props,
            {
                "partition_key": dynamodb.Attribute(
                    name=schema.KEY_ATTRIBUTE, type=dynamodb.AttributeType.STRING
                ),
                "time_to_live_attribute": schema.EXPIRY_ATTRIBUTE,
                "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
                "encryption": dynamodb.TableEncryption.AWS_MANAGED
                if encryption_key is None
                else dynamodb.TableEncryption.CUSTOMER_MANAGED,
                "encryption_key": encryption_key,
                "removal_policy": removal_policy,
            },
        )
        #: The table holding the idempotency records.
        self.table = dynamodb.Table(self, "Table", **props)
        if "point_in_time_recovery_specification" in defaults:
            acknowledge_compliance(
                self.table,
                "DynamoDBInBackupPlan",
                "Idempotency records live for expires_after (1 hour by default) and are "
                "written again when a message is redelivered; point-in-time recovery (35 days) "
                "is on. A backup plan would keep copies of records void within hours.",
                (NIST, HIPAA),
            )

    def grant_records(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grants the item actions the idempotency runtime uses, and nothing else.

        ``dynamodb:PutItem``, ``DeleteItem`` and ``BatchGetItem`` on this
        table (no queries, no scans, no table-level actions), and encrypt/decrypt on its
        customer-managed key when it has one.
        """
        return grant_item_actions(self.table, grantee)

    # --- validation -----------------------------------------------------------------------

    def _reject_pattern_table_keys(self, table_props: Mapping[str, Any] | None) -> None:
        for key, instead in _PATTERN_TABLE_KEYS.items():
            if key in (table_props or {}):
                raise ValueError(
                    f"{self.node.path}: table_props[{key!r}] is set by IdempotencyTable; "
                    f"use {instead} instead"
                )
