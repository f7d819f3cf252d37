"""AlarmTopic: an encrypted SNS topic that CloudWatch alarms can publish to."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from constructs import Construct
from serverless_patterns.constructs._encryption import customer_managed_key

CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"


class AlarmTopic(Construct):
    """Defines an SNS topic for alarm notifications, encrypted with its own KMS key.

    CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, so the topic
    gets a customer-managed key (rotation on) whose policy lets CloudWatch use it for this
    account's alarms only. A topic policy replaces SNS's default policy, so besides the TLS-only
    deny it allows ``cloudwatch.amazonaws.com`` to publish for this account's alarms in this
    Region only (``aws:SourceArn`` and ``aws:SourceAccount``), as in "Example cases for Amazon
    SNS access control" (Allow any CloudWatch alarm to publish to a topic) in the SNS Developer
    Guide; the key statement follows "Enable compatibility between event sources from AWS
    services and encrypted topics" (SNS key management).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, encryption_key: kms.IKey | None = None
    ) -> None:
        """
        :param encryption_key: a customer-managed key of yours to encrypt the topic with; its
            policy gets the CloudWatch statement below. Default: - a new key (rotation on)
            whose account statement is named as ``customer_managed_key`` describes.
        """
        super().__init__(scope, construct_id)
        #: The key encrypting the topic.
        self.key: kms.IKey = encryption_key or customer_managed_key(
            self, "Key", description="Encrypts alarm notifications."
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": self.key.stack.account}},
            )
        )
        #: The topic; subscribe on-call endpoints to it.
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": self._this_accounts_alarms()},
                    "StringEquals": {"aws:SourceAccount": self.key.stack.account},
                },
            )
        )
        #: The action to pass as ``alarm_action`` to the patterns.
        self.action = cw_actions.SnsAction(self.topic)

    def _this_accounts_alarms(self) -> str:
        """``arn:<partition>:cloudwatch:<region>:<account>:alarm:*`` of this stack."""
        return Stack.of(self).format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
