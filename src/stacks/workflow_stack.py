"""Reference stack of pattern 8: an order-review workflow with human approval and redrive."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from constructs import Construct
from serverless_patterns.constructs._nag import acknowledge
from serverless_patterns.constructs._queue import dead_letter_queue, source_queue
from serverless_patterns.constructs.workflow import Workflow
from serverless_patterns.constructs.workflow_approval import ApprovalApi, ApprovalStep
from serverless_patterns.stacks._hardening import encrypted_table
from serverless_patterns.stacks._reference_stack import ReferenceStack

#: The event the workflow puts on the default bus when an order is approved.
ORDER_APPROVED_SOURCE = "serverless-patterns.orders"
ORDER_APPROVED_DETAIL_TYPE = "Order Approved"


def _set_status(scope: Construct, construct_id: str, table: dynamodb.ITable, status: str) -> Any:
    return tasks.DynamoUpdateItem(
        scope,
        construct_id,
        table=table,
        key={
            "order_id": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.order_id"))
        },
        update_expression="SET #status = :status",
        expression_attribute_names={"#status": "status"},
        expression_attribute_values={":status": tasks.DynamoAttributeValue.from_string(status)},
        result_path=sfn.JsonPath.DISCARD,
    )


def order_review_definition(
    scope: Construct, *, orders: dynamodb.ITable, approvals: Any
) -> sfn.IChainable:
    """Record the order, ask for approval, then mark it and announce an approval; direct
    DynamoDB, SQS and EventBridge integrations only."""
    record = tasks.DynamoPutItem(
        scope,
        "RecordOrder",
        table=orders,
        item={
            "order_id": tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.string_at("$.order_id")
            ),
            "status": tasks.DynamoAttributeValue.from_string("PENDING_REVIEW"),
            "total": tasks.DynamoAttributeValue.number_from_string(
                sfn.JsonPath.format("{}", sfn.JsonPath.string_at("$.total"))
            ),
        },
        result_path=sfn.JsonPath.DISCARD,
    )
    announce = tasks.EventBridgePutEvents(
        scope,
        "AnnounceApproval",
        entries=[
            tasks.EventBridgePutEventsEntry(
                source=ORDER_APPROVED_SOURCE,
                detail_type=ORDER_APPROVED_DETAIL_TYPE,
                detail=sfn.TaskInput.from_object(
                    {"order_id": sfn.JsonPath.string_at("$.order_id")}
                ),
            )
        ],
        result_path=sfn.JsonPath.DISCARD,
    )
    approval = ApprovalStep(
        scope,
        "Review",
        queue=approvals,
        on_approved=_set_status(scope, "MarkApproved", orders, "APPROVED").next(announce),
        on_rejected=_set_status(scope, "MarkRejected", orders, "REJECTED"),
        on_timeout=_set_status(scope, "MarkExpired", orders, "EXPIRED"),
        timeout=Duration.hours(24),
    )
    return record.next(approval)


class WorkflowStack(ReferenceStack):
    """Defines the order-review Workflow (redriven automatically), the queue approval requests
    go to, and the IAM-authorised ApprovalApi."""

    SERVES_API = True

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.orders = encrypted_table(
            self,
            "Orders",
            self.key,
            partition_key=dynamodb.Attribute(name="order_id", type=dynamodb.AttributeType.STRING),
        )
        self.approval_requests = source_queue(
            self,
            "ApprovalRequests",
            fifo=False,
            visibility_timeout=Duration.seconds(30),
            dead_letter=dead_letter_queue(
                self,
                "ApprovalRequestsDlq",
                fifo=False,
                dead_letter_of="the approval queue",
                encryption_key=self.key,
            ),
            max_receive_count=5,
            encryption_key=self.key,
        )
        self.workflow = Workflow(
            self,
            "OrderReview",
            definition=order_review_definition(
                self, orders=self.orders, approvals=self.approval_requests
            ),
            alarm_action=self.alarms.action,
            encryption_key=self.key,
        )
        if self.key is not None:
            acknowledge(
                self.workflow.state_machine.role,
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                "Sending to the approval queue, encrypted with the stack's key, needs data keys "
                "of that one key; aws-cdk-lib grants the GenerateDataKey family on it only.",
            )
        self.approval_api = ApprovalApi(
            self,
            "Approvals",
            state_machines=[self.workflow.state_machine],
            encryption_key=self.key,
            web_acl_arn=self.web_acl.attr_arn if self.web_acl is not None else None,
        )
