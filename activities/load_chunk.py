"""``load_chunk_items``: read the jobs of an earlier chunk back from its own history.

``retry_failed()`` must run failed jobs again without the batch keeping every payload in its
state (continue-as-new input is capped at 2 MB). The chunk's start event already holds them.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import EventType

from jobmodule.activities.batch_models import BatchItem, LoadChunkItemsInput, LoadedItem
from jobmodule.activities.errors import ChunkHistoryError


@activity.defn(name="load_chunk_items")
async def load_chunk_items(input: LoadChunkItemsInput) -> list[LoadedItem]:
    """The items at ``indices`` of chunk ``chunk_id``, read from its first history event."""
    client = activity.client()
    handle = client.get_workflow_handle(input.chunk_id)
    async for event in handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            continue
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [chunk] = await client.data_converter.decode(payloads, [dict[str, Any]])
        wanted = set(input.indices)
        return [
            LoadedItem(index=index, item=BatchItem.model_validate(item))
            for index, item in enumerate(chunk["items"])
            if index in wanted
        ]
    raise ChunkHistoryError(f"chunk {input.chunk_id} has no start event")
