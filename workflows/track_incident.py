"""`TrackIncident`: one durable workflow per correlation key, holding that key's incidents.

    signal-with-start `join` (from intake, one per alert; concurrent joins queue as signals)
        ─► admit: the incident whose window holds the alert's time, else the next incident
        ─► incident-scope policies (snapshot, evaluate, pure) ─► a response per shared target,
           escalations sent to the incident's responses
        ─► tell each new member response its incident (and the escalations so far)
        ─► continue-as-new past the history bound, carrying the incidents and unhandled joins

Deterministic code only: every side effect is an activity or a Temporal command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from riposte.incidents.growth import admit
    from riposte.incidents.models import (
        Escalation,
        IncidentRecord,
        IncidentsView,
        IncidentTask,
        JoinRequest,
        Member,
        Membership,
        TrackInput,
        view_of,
    )
    from riposte.incidents.scope import evaluate_incident, fired_key, incident_alert
    from riposte.policy.snapshot import SNAPSHOT_POLICIES, PolicySnapshot, SnapshotRequest
    from riposte.response import RespondInput, ResponseStatus
    from riposte.temporal_server import INCIDENT_ID, RESPONSE_STATUS

# Workflow changes that running incidents must replay across, each taken with workflow.patched(ID).
RESPONSES_PER_CHAIN = "incident-responses-per-chain"  # v8: response ids carry the chain's run id

KEPT_CLOSED = 20  # closed incidents kept in full; older ones are dropped from the state
SNAPSHOT_TIMEOUT = timedelta(seconds=30)
SNAPSHOT_RETRY = RetryPolicy(maximum_attempts=3)


@workflow.defn(name="TrackIncident")
class TrackIncident:
    @workflow.init
    def __init__(self, request: TrackInput) -> None:
        self._key = request.key
        self._window = timedelta(seconds=request.window_seconds)
        self._incidents: list[IncidentRecord] = list(request.incidents)
        self._pending: list[JoinRequest] = list(request.pending)

    @workflow.signal(name="join")
    def join(self, request: JoinRequest) -> None:
        self._pending.append(request)

    @workflow.query(name="view")
    def view(self) -> IncidentsView:
        return IncidentsView(incidents=tuple(view_of(r) for r in self._incidents))

    @workflow.run
    async def run(self, request: TrackInput) -> IncidentsView:
        while True:
            await workflow.wait_condition(lambda: bool(self._pending))
            batch, self._pending = self._pending, []
            await self._grow(batch)
            info = workflow.info()
            if info.get_current_history_length() >= request.history_bound:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    request.model_copy(
                        update={
                            "incidents": tuple(self._kept()),
                            "pending": tuple(self._pending),
                        }
                    )
                )

    # -- growing -------------------------------------------------------------------------------

    async def _grow(self, batch: list[JoinRequest]) -> None:
        told: dict[str, str] = {}  # response id -> incident id, for every join of the batch
        grown: list[int] = []
        for join in batch:
            index = self._admit(join)
            told[join.response_id] = self._incidents[index].incident_id
            if index not in grown:
                grown.append(index)
        snapshot = await self._snapshot()
        if snapshot is not None:
            for index in grown:
                await self._answer(index, snapshot)
        by_id = {r.incident_id: r for r in self._incidents}
        await self._signal_all(
            (
                rid,
                "incident_joined",
                Membership(incident_id=iid, escalations=by_id[iid].escalations),
            )
            for rid, iid in told.items()
        )

    def _admit(self, join: JoinRequest) -> int:
        """The index of the incident the alert joins (riposte.incidents.growth)."""
        member = Member(response_id=join.response_id, alert=join.alert, sender=join.sender)
        return admit(self._incidents, self._key, self._window, member)

    async def _answer(self, index: int, snapshot: PolicySnapshot) -> None:
        """Run the incident-scope policies on the grown incident and carry out what they say."""
        record = self._incidents[index]
        plan = evaluate_incident(record, snapshot)
        started = await asyncio.gather(*(self._start_response(record, t) for t in plan.tasks))
        record = record.model_copy(
            update={
                "fired": (*record.fired, *(fired_key(t) for t in plan.tasks)),
                "responses": (*record.responses, *started),
                "escalations": (*record.escalations, *plan.escalations),
            }
        )
        self._incidents[index] = record
        await self._signal_all(
            (m.response_id, "escalate", escalation)
            for escalation in plan.escalations
            for m in record.members
        )

    async def _start_response(self, record: IncidentRecord, task: IncidentTask) -> str:
        """Start the response to one incident-scope task (or find it started); its id."""
        alert = incident_alert(task, record.members)
        response_id = alert.key
        if workflow.patched(RESPONSES_PER_CHAIN):
            # The incident's numbers start again if this workflow is ever terminated and started
            # afresh; its responses must not take over the ids of an earlier chain's responses
            # (or of another task queue's, on a shared server). The chain's first run id holds
            # through continue-as-new and reset.
            response_id = f"{alert.key}@{workflow.info().first_execution_run_id[:8]}"
        try:
            await workflow.start_child_workflow(
                "RespondToAlert",
                RespondInput(alert=alert, incident=task, senders=_senders(record)),
                id=response_id,
                # Abandoned: the response outlives this run (continue-as-new) and its own timers.
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(RESPONSE_STATUS, ResponseStatus.RUNNING.value),
                        SearchAttributePair(INCIDENT_ID, record.incident_id),
                    ]
                ),
                memo={"alert_name": alert.name},
            )
        except WorkflowAlreadyStartedError:
            return response_id  # started by an earlier run of this chain (before a reset)
        return response_id

    async def _snapshot(self) -> PolicySnapshot | None:
        """The policies now; None while they cannot be loaded (the joins still go through, and
        the next growth tries again)."""
        try:
            snapshot: PolicySnapshot = await workflow.execute_local_activity(
                SNAPSHOT_POLICIES.name,
                SnapshotRequest(),
                result_type=SNAPSHOT_POLICIES.result,
                start_to_close_timeout=SNAPSHOT_TIMEOUT,
                retry_policy=SNAPSHOT_RETRY,
            )
        except (ActivityError, ApplicationError):
            return None
        return snapshot

    @staticmethod
    async def _signal_all(signals: Iterable[tuple[str, str, Membership | Escalation]]) -> None:
        """Send every (workflow id, signal, payload); a response that has ended is skipped."""

        async def send(workflow_id: str, name: str, payload: Membership | Escalation) -> None:
            try:
                await workflow.get_external_workflow_handle(workflow_id).signal(name, payload)
            except FailureError:
                return

        await asyncio.gather(*(send(*s) for s in signals))

    def _kept(self) -> list[IncidentRecord]:
        closed = [r for r in self._incidents if r.closed][-KEPT_CLOSED:]
        return [*closed, *(r for r in self._incidents if not r.closed)]


def _senders(record: IncidentRecord) -> tuple[str, ...]:
    """The principals that sent the incident's alerts: none of them may decide on what the
    incident itself asks for (separation of duties, as for each alert's own response)."""
    return tuple(sorted({m.sender for m in record.members if m.sender}))
