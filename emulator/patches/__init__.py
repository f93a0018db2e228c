"""Every change the emulator makes to moto, one module each, each with its reason.

Each module has ``REASON`` (one line) and ``patch()``, a context manager that
applies the change and takes it back; ``tests/unit/emulator/patches/`` holds, for
each, a test of moto's own behaviour that fails the day moto changes under it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import ModuleType

from emulator.patches import (
    assume_role_trust,
    aws_sdk_integration,
    change_set_cleanup,
    cloudformation_execution_role,
    cloudformation_pipeline_resources,
    cloudformation_resources,
    cloudformation_rules,
    codepipeline_approvals,
    event_source_mappings,
    execution_api,
    execution_names,
    history_end,
    identity_policies,
    intrinsic_failures,
    json_paths,
    jsonata_states,
    kms_keys,
    lambda_in_process,
    optimized_integrations,
    parsed_definitions,
    previous_parameter_values,
    runtime_causes,
    secret_rotation,
    service_deliveries,
    signed_requests,
    stack_operations,
    sync_execution,
    task_credentials,
    template_parsing,
    template_urls,
    timestamps,
)

PATCHES: tuple[ModuleType, ...] = (
    signed_requests,
    assume_role_trust,
    identity_policies,
    aws_sdk_integration,
    task_credentials,
    optimized_integrations,
    sync_execution,
    execution_names,
    execution_api,
    history_end,
    timestamps,
    intrinsic_failures,
    runtime_causes,
    lambda_in_process,
    cloudformation_resources,
    cloudformation_pipeline_resources,
    cloudformation_rules,
    cloudformation_execution_role,
    change_set_cleanup,
    previous_parameter_values,
    template_parsing,
    template_urls,
    kms_keys,
    parsed_definitions,
    json_paths,
    jsonata_states,
    stack_operations,
    codepipeline_approvals,
    service_deliveries,
    event_source_mappings,
    secret_rotation,
)


@contextmanager
def applied() -> Iterator[None]:
    with ExitStack() as stack:
        for module in PATCHES:
            stack.enter_context(module.patch())
        yield
