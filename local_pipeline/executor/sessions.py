"""Who CodePipeline is when it runs an action (CodePipeline user guide, "CodePipeline
service role"): it assumes the pipeline's service role, as ``codepipeline.amazonaws.com``
on behalf of that pipeline, and, for an action that names a ``RoleArn``, assumes that
role from the pipeline's role session. Every assumption goes through the trust policy,
and the pipeline role's own identity policy decides whether it may assume the action's."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.identity import Credentials, assume_role_as, assume_role_as_service, principal_for_access_key


@dataclass(frozen=True)
class PipelineSessions:
    pipeline_arn: str
    pipeline_role_arn: str
    region: str

    def pipeline_role(self) -> Credentials:
        return assume_role_as_service(
            self.pipeline_role_arn, service="codepipeline.amazonaws.com", source_arn=self.pipeline_arn, region=self.region
        )

    def action_role(self, role_arn: str, region: str) -> Credentials:
        """``role_arn``'s credentials as CodePipeline holds them for an action."""
        pipeline = principal_for_access_key(self.pipeline_role().access_key_id)
        return assume_role_as(pipeline, role_arn, external_id=None, region=region)
