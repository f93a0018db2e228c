"""The accounts, region and names of the workflows app (workflows_app.py), apart from it:
the tests read them when pytest collects, and only the fixture that synthesizes the app
loads the CDK."""

from __future__ import annotations

TRUSTED, TRUSTING, REGION = "111111111111", "222222222222", "us-east-1"
CHILD = "Child"
CHILD_ARN = f"arn:aws:states:{REGION}:{TRUSTING}:stateMachine:{CHILD}"
STARTS_CHILD_ROLE = "StartsChildFromTrusted"
TABLE = "WorkflowItems"
