"""Actions that read secrets, data or credentials, run code, or hand out roles: the list
CKV_SCP_003 keeps off wildcard resources, and the template tests check with it too.

Not a check, and no checkov import: the tests import it from the project's environment,
checkov from its own (it executes every module of this directory; this one registers
nothing).
"""

SENSITIVE_ACTIONS = (
    "secretsmanager:GetSecretValue",
    "sts:AssumeRole",
    "iam:PassRole",
    "states:StartExecution",
    "states:StartSyncExecution",
    "lambda:InvokeFunction",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "kms:Decrypt",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
)
