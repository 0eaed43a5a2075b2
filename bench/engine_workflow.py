"""W0's empty workflow: what the engine costs with no job system around it."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="BenchEmptyWorkflow")
class EmptyWorkflow:
    """Starts and completes at once: one workflow task, no activity."""

    @workflow.run
    async def run(self, i: int) -> None:
        return None
