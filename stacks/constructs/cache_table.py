"""The DynamoDB cache of secret values."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

PARTITION_KEY = "SecretArn"
# DynamoDB deletes expired items lazily (up to days late): the workflow also
# compares ExpiresAt with the time of the read, so TimeToLive is housekeeping only.
TTL_ATTRIBUTE = "TimeToLive"


class SecretCacheTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, table_name: str, encryption_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        # AWS::DynamoDB::Table (not TableV2's GlobalTable): one region is all Step
        # Functions cross-account tasks support anyway.
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=table_name,
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=encryption_key,
            # A cache: losing it costs one Secrets Manager read per secret.
            removal_policy=RemovalPolicy.DESTROY,
        )
