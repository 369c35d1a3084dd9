"""The seam between the surfaces (CLI, API, console) and the `TrackIncident` workflows.

An alert joins its incident by signal-with-start on the workflow of its correlation key: one
Temporal call, safe under any race (signals to one workflow are queued in order, and a second
start of the same id becomes a signal).
"""

from __future__ import annotations

import asyncio
import builtins
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from riposte.alerts import Alert
from riposte.errors import NotFound, Unavailable
from riposte.incidents.correlation import correlation_key
from riposte.incidents.models import (
    IncidentsView,
    IncidentView,
    JoinRequest,
    TrackInput,
    split_incident_id,
)
from riposte.settings import IncidentSettings
from workflows.track_incident import TrackIncident

_QUERIES = 8  # incident workflows queried at once when listing


def incident_workflow_id(task_queue: str, key: str) -> str:
    """The `TrackIncident` workflow of a correlation key (scoped by task queue, as responses
    are by their alerts' keys)."""
    return f"incident:{task_queue}:{key}"


class IncidentService:
    def __init__(
        self, client: Client, task_queue: str, settings: IncidentSettings | None = None
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._settings = settings or IncidentSettings()

    async def join(self, alert: Alert, response_id: str, sender: str = "") -> None:
        """Join the response to its alert's incident (idempotent: a repeat changes nothing)."""
        key = correlation_key(alert)
        try:
            await self._client.start_workflow(
                TrackIncident.run,
                TrackInput(
                    key=key,
                    window_seconds=self._settings.window_seconds,
                    history_bound=self._settings.history_bound,
                ),
                id=incident_workflow_id(self._task_queue, key),
                task_queue=self._task_queue,
                start_signal="join",
                start_signal_args=[
                    JoinRequest(
                        response_id=response_id,
                        alert=alert.model_copy(update={"raw": {}}),
                        sender=sender,
                    )
                ],
                memo={"key": key},
            )
        except RPCError as err:
            raise Unavailable(f"Temporal: {err.message}") from err

    async def list(self, limit: int = 50) -> builtins.list[IncidentView]:
        """Incidents of this task queue, the latest alert first. A chain that continued as new
        is listed once, read from its latest run: its runs share one workflow id (filtering out
        the runs that continued as new would miss a chain whose new run visibility has not
        caught up with yet)."""
        query = f"WorkflowType = 'TrackIncident' AND TaskQueue = {_quoted(self._task_queue)}"
        try:
            found_ids: dict[str, None] = {}
            async for wf in self._client.list_workflows(query):
                found_ids.setdefault(wf.id, None)
                if len(found_ids) >= limit:
                    break
            ids = list(found_ids)
        except RPCError as err:
            raise Unavailable(f"Temporal: {err.message}") from err
        gate = asyncio.Semaphore(_QUERIES)

        async def views(workflow_id: str) -> IncidentsView:
            async with gate:
                try:
                    return await self._views(workflow_id)
                except NotFound:
                    return IncidentsView()

        found = [i for v in await asyncio.gather(*(views(w) for w in ids)) for i in v.incidents]
        found.sort(key=lambda i: (i.last_alert, i.incident_id), reverse=True)
        return found[:limit]

    async def view(self, incident_id: str) -> IncidentView:
        parts = split_incident_id(incident_id)
        if parts is None:
            raise NotFound(f"no incident {incident_id}")
        views = await self._views(incident_workflow_id(self._task_queue, parts[0]))
        for incident in views.incidents:
            if incident.incident_id == incident_id:
                return incident
        raise NotFound(f"no incident {incident_id}")

    async def _views(self, workflow_id: str) -> IncidentsView:
        handle: WorkflowHandle[Any, Any] = self._client.get_workflow_handle(
            workflow_id, result_type=IncidentsView
        )
        try:
            description = await handle.describe()
            if description.status is WorkflowExecutionStatus.RUNNING:
                return await handle.query(TrackIncident.view)
            if description.status is WorkflowExecutionStatus.COMPLETED:
                result: IncidentsView = await handle.result()
                return result
            raise NotFound(f"the incidents of {workflow_id} have ended")
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no incident workflow {workflow_id}") from err
            raise Unavailable(f"Temporal: {err.message}") from err


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
