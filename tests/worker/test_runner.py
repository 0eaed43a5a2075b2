"""How a worker runs jobmodule's workflows."""

from __future__ import annotations

from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from jobmodule import JobSettings
from jobmodule.worker import workflow_runner


def test_workflows_run_unsandboxed_unless_the_sandbox_is_asked_for() -> None:
    assert isinstance(workflow_runner(JobSettings()), UnsandboxedWorkflowRunner)
    sandboxed = workflow_runner(JobSettings(workflow_sandbox=True))
    assert isinstance(sandboxed, SandboxedWorkflowRunner)
