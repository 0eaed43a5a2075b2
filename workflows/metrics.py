"""``MetricsWorkflow``: one per namespace, it keeps what every worker reported, durably.

Each worker signals it every few seconds (signal-with-start, so the first report starts it) with
per-minute aggregates, its running jobs and itself. It folds the reports into rolling windows
(``metrics_state``) and continues-as-new with them every ``HISTORY_LIMIT`` (2,000) events, long
before Temporal's 10,240-event warning.
It runs no activity and sets no timer: a worker is ``lost`` when a reader sees its last report
grow old, so silence costs nothing. Readers fold its history themselves (``JobMonitor``), so the
figures can be read while no worker runs; ``snapshot`` answers the same from a live worker.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from jobmodule.workflows.metrics_models import REPORT_SIGNAL, ReportBatch
    from jobmodule.workflows.metrics_state import MetricsInput, MetricsState


@workflow.defn(name="MetricsWorkflow")
class MetricsWorkflow:
    """Folds worker reports into rolling windows; continues-as-new to keep its history short."""

    @workflow.init
    def __init__(self, input: MetricsInput) -> None:
        self._state = input.state or MetricsState()
        self._history_limit = input.history_limit

    @workflow.run
    async def run(self, input: MetricsInput) -> None:
        await workflow.wait_condition(self._continue_as_new_due)
        # Signals that arrive while this task completes fail the completion and come back in
        # a new task, so none is lost between here and the next run.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._state.prune()
        workflow.continue_as_new(MetricsInput(state=self._state, history_limit=self._history_limit))

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._history_limit
        )

    @workflow.signal(name=REPORT_SIGNAL)
    def report(self, batch: ReportBatch) -> None:
        """Reports of one worker, oldest first; ones already folded in are skipped."""
        self._state.apply(batch)

    @workflow.query(name="snapshot")
    def snapshot(self) -> MetricsState:
        """The state now (readers usually fold the history instead: no worker needed)."""
        return self._state
