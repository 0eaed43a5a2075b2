"""Read the metrics state out of the metrics workflow's history, as the workflow folds it.

The current run's start input holds the state carried over by continue-as-new; its signals
hold every report since. Folding them here with the workflow's own code needs no worker to
answer a query, so the figures read the same while every worker is down, and include reports
the workflow has not processed yet. The run is kept short (``HISTORY_LIMIT`` events), so this
is one or two pages of history.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from jobmodule.activities.ids import METRICS_WORKFLOW_ID
from jobmodule.rpc import is_not_found
from jobmodule.workflows.metrics_models import REPORT_SIGNAL, ReportBatch
from jobmodule.workflows.metrics_state import MetricsInput, MetricsState

STARTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
SIGNALED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED


async def read_metrics_state(client: Client) -> MetricsState:
    """The metrics state, folded from the current run's history (empty before any report)."""
    handle = client.get_workflow_handle(METRICS_WORKFLOW_ID)
    converter = client.data_converter
    state = MetricsState()
    try:
        async for event in handle.fetch_history_events():
            if event.event_type == SIGNALED:
                signal = event.workflow_execution_signaled_event_attributes
                if signal.signal_name == REPORT_SIGNAL:
                    [batch] = await converter.decode(signal.input.payloads, [ReportBatch])
                    state.apply(batch)
            elif event.event_type == STARTED:
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                [start] = await converter.decode(payloads, [MetricsInput])
                state = start.state or MetricsState()
    except Exception as error:
        if is_not_found(error):
            return MetricsState()  # no worker has reported yet
        raise
    return state
