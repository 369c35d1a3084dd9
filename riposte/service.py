"""The one seam between Riposte's surfaces (CLI, API, console) and Temporal.

An alert becomes a `RespondToAlert` workflow whose id is the alert's dedup key. Starting it
again while it runs, or after it closed, raises "already started", which is how a duplicate
is recognised and joined: one alert, one response.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import builtins
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from riposte.alerts import Alert
from riposte.errors import Conflict, InvalidInput, NotFound, NotPermitted, Unavailable
from riposte.failures import FailureType
from riposte.incidents.service import IncidentService
from riposte.model import Frozen
from riposte.response import (
    ActionState,
    ActionView,
    Decision,
    MatchedPolicy,
    Release,
    RespondInput,
    ResponseStatus,
    ResponseView,
    response_id_of,
)
from riposte.settings import IncidentSettings, Settings
from riposte.temporal_server import INCIDENT_ID, RESPONSE_STATUS, RESPONSE_TARGETS
from workflows.respond_to_alert import RespondToAlert


class Submission(Frozen):
    response_id: str
    duplicate: bool


class ResponseSummary(Frozen):
    response_id: str
    status: ResponseStatus
    alert_name: str
    started: datetime
    incident_id: str = ""
    targets: tuple[str, ...] = ()


class ApprovalRequest(Frozen):
    """A pending action with everything an approver needs to decide."""

    action: ActionView
    response_id: str
    alert: Alert
    matched: tuple[MatchedPolicy, ...]
    other_actions: tuple[ActionView, ...]


class ApprovalPage(Frozen):
    requests: tuple[ApprovalRequest, ...]
    next_page: str | None = None  # the token for the next page; None: the last


def _pending_in(response: ResponseView) -> list[ApprovalRequest]:
    requests = []
    for action in response.actions:
        if action.state is ActionState.PENDING_APPROVAL:
            requests.append(
                ApprovalRequest(
                    action=action,
                    response_id=response.response_id,
                    alert=response.alert,
                    matched=response.matched,
                    other_actions=tuple(
                        a for a in response.actions if a.action_id != action.action_id
                    ),
                )
            )
    return requests


def stack_file(settings: Settings) -> Path:
    return settings.data_dir / "stack.json"


def read_stack(settings: Settings) -> dict[str, str]:
    """The running dev stack's addresses, or {} when none runs from this data dir."""
    try:
        data: dict[str, str] = json.loads(stack_file(settings).read_text())
    except (OSError, ValueError):
        return {}
    return data


async def connect(settings: Settings) -> Client:
    """Connect through the SDK's environment configuration (TEMPORAL_ADDRESS, namespace, TLS,
    API key, profile file); with none set, to the dev stack of this data dir, if one runs."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    if "target_host" not in config:
        config["target_host"] = read_stack(settings).get("temporal", "localhost:7233")
    try:
        return await Client.connect(**config, data_converter=pydantic_data_converter)
    except RuntimeError as err:
        raise Unavailable(f"cannot reach Temporal at {config['target_host']}: {err}") from err


_VIEWS_AT_ONCE = 16  # queries in flight while a page of approvals is read


def _quoted(value: str) -> str:
    """A string literal for a Temporal list filter (visibility queries take SQL-like quoting)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ended(view: ResponseView, status: WorkflowExecutionStatus | None) -> ResponseView:
    """A response that ended without completing (terminated, timed out) reverts nothing any
    more: no action claims a revert time; the reconciler reverts what it left held."""
    how = status.name.lower() if status is not None else "closed"
    actions = tuple(
        a.model_copy(
            update={
                "revert_at": None,
                "error": a.error or f"response {how}: the reconciler reverts what it held",
            }
        )
        if a.revert_at is not None
        else a
        for a in view.actions
    )
    return view.model_copy(update={"actions": actions})


class ResponseService:
    def __init__(
        self, client: Client, task_queue: str, incidents: IncidentSettings | None = None
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._join = (incidents or IncidentSettings()).join
        self.incidents = IncidentService(client, task_queue, incidents)

    async def submit(self, alert: Alert, *, sender: str = "") -> Submission:
        """Start the response to an alert, or recognise it as a duplicate, then join it to its
        incident. `sender` is the principal that sent it (the audit's actor on
        `alert_received`). The join is repeated for a duplicate (it changes nothing if it was
        made), so a sender retrying after a failed join loses nothing."""
        submission = await self._start(alert, sender)
        if self._join:
            await self.incidents.join(alert, submission.response_id, sender)
        return submission

    async def _start(self, alert: Alert, sender: str) -> Submission:
        try:
            await self._client.start_workflow(
                RespondToAlert.run,
                RespondInput(alert=alert, sender=sender, joins_incident=self._join),
                id=alert.key,
                task_queue=self._task_queue,
                # A response that ended in failure may be retried by resending its alert.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(RESPONSE_STATUS, ResponseStatus.RUNNING.value)]
                ),
                memo={"alert_name": alert.name},
            )
        except WorkflowAlreadyStartedError:
            return Submission(response_id=alert.key, duplicate=True)
        except RPCError as err:
            raise Unavailable(f"Temporal: {err.message}") from err
        return Submission(response_id=alert.key, duplicate=False)

    async def view(self, response_id: str) -> ResponseView:
        handle = self._handle(response_id)
        try:
            description = await handle.describe()
            if description.status is WorkflowExecutionStatus.COMPLETED:
                result: ResponseView = await handle.result()
                return result
            view: ResponseView = await handle.query(RespondToAlert.view)
            if description.status is not WorkflowExecutionStatus.RUNNING:
                return _ended(view, description.status)
            return view
        except RPCError as err:
            raise self._translate(err, response_id) from err

    async def list(
        self, status: ResponseStatus | None = None, limit: int = 50, *, target: str | None = None
    ) -> builtins.list[ResponseSummary]:
        """Responses of this task queue, newest first; by status, or by a user or IP acted on."""
        query = f"WorkflowType = 'RespondToAlert' AND TaskQueue = {_quoted(self._task_queue)}"
        if status is not None:
            query += f" AND ResponseStatus = '{status.value}'"
            if status is not ResponseStatus.COMPLETED:  # a terminated response keeps its last
                query += " AND ExecutionStatus = 'Running'"
        if target is not None:
            query += f" AND ResponseTargets = {_quoted(target)}"
        summaries = []
        try:
            executions = [wf async for wf in self._client.list_workflows(query, limit=limit)]
        except RPCError as err:
            raise Unavailable(f"Temporal: {err.message}") from err
        for wf in executions:
            found = wf.typed_search_attributes.get(RESPONSE_STATUS)
            summaries.append(
                ResponseSummary(
                    response_id=wf.id,
                    status=ResponseStatus(found) if found else ResponseStatus.RUNNING,
                    alert_name=str(await wf.memo_value("alert_name", default="")),
                    started=wf.start_time,
                    incident_id=wf.typed_search_attributes.get(INCIDENT_ID) or "",
                    targets=tuple(wf.typed_search_attributes.get(RESPONSE_TARGETS) or ()),
                )
            )
        return summaries

    async def pending_approvals(self) -> builtins.list[ApprovalRequest]:
        """Every pending action, page after page (past any fixed cap)."""
        requests: builtins.list[ApprovalRequest] = []
        page: str | None = None
        while True:
            found = await self.pending_page(page=page)
            requests.extend(found.requests)
            if found.next_page is None:
                return requests
            page = found.next_page

    async def pending_page(self, page_size: int = 100, page: str | None = None) -> ApprovalPage:
        """The pending actions of one page of `page_size` responses awaiting approval; pass
        `next_page` back as `page` for the next one (None: this was the last)."""
        query = (
            f"WorkflowType = 'RespondToAlert' AND TaskQueue = {_quoted(self._task_queue)} "
            f"AND ResponseStatus = '{ResponseStatus.PENDING_APPROVAL.value}' "
            "AND ExecutionStatus = 'Running'"
        )
        try:
            token = base64.b64decode(page, altchars=b"-_", validate=True) if page else None
            if page and not token:
                raise ValueError(page)
        except (ValueError, binascii.Error) as err:
            raise InvalidInput("not a page token from this API", location="page") from err
        listing = self._client.list_workflows(query, page_size=page_size, next_page_token=token)
        try:
            await listing.fetch_next_page()
        except RPCError as err:
            if err.status is RPCStatusCode.INVALID_ARGUMENT:
                raise InvalidInput("not a page token from this API", location="page") from err
            raise Unavailable(f"Temporal: {err.message}") from err
        gate = asyncio.Semaphore(_VIEWS_AT_ONCE)

        async def requests_of(response_id: str) -> builtins.list[ApprovalRequest]:
            async with gate:
                try:
                    return _pending_in(await self.view(response_id))
                except NotFound:
                    return []

        pages = await asyncio.gather(*(requests_of(wf.id) for wf in listing.current_page or ()))
        following = listing.next_page_token
        return ApprovalPage(
            requests=tuple(r for found in pages for r in found),
            next_page=base64.urlsafe_b64encode(following).decode() if following else None,
        )

    async def decide(self, decision: Decision) -> ActionView:
        return await self._update(decision.action_id, RespondToAlert.decide, decision)

    async def release(self, release: Release) -> ActionView:
        return await self._update(release.action_id, RespondToAlert.release, release)

    async def _update(self, action_id: str, update: Any, arg: Decision | Release) -> ActionView:
        response_id = response_id_of(action_id)
        if not response_id:
            raise NotFound(f"no action {action_id}")
        handle = self._handle(response_id)
        try:
            result: ActionView = await handle.execute_update(update, arg)
        except WorkflowUpdateFailedError as err:
            raise self._refused(action_id, err) from err
        except WorkflowUpdateRPCTimeoutOrCancelledError as err:
            raise Unavailable(f"action {action_id}: no answer from the response in time") from err
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                # The response has ended: nothing in it can still be decided or released.
                raise await self._closed(action_id, response_id) from err
            raise self._translate(err, response_id) from err
        return result

    async def _closed(self, action_id: str, response_id: str) -> Exception:
        try:
            response = await self.view(response_id)
        except NotFound as missing:
            return missing
        for action in response.actions:
            if action.action_id == action_id:
                return Conflict(
                    f"action {action_id} is {action.state.value}; its response has ended",
                    state=action.state.value,
                )
        return NotFound(f"no action {action_id} in response {response_id}")

    @staticmethod
    def _refused(action_id: str, err: WorkflowUpdateFailedError) -> Exception:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            if cause.type == FailureType.UNKNOWN_ACTION:
                return NotFound(cause.message)
            if cause.type in (FailureType.ACTION_NOT_IN_STATE, FailureType.ALREADY_APPROVED):
                state = str(cause.details[0]) if cause.details else "unknown"
                return Conflict(cause.message, state=state)
            if cause.type == FailureType.SENDER_MAY_NOT_DECIDE:
                return NotPermitted(cause.message)
        return Conflict(f"action {action_id}: update refused", state="unknown")

    def _handle(self, response_id: str) -> WorkflowHandle[Any, Any]:
        return self._client.get_workflow_handle(response_id, result_type=ResponseView)

    @staticmethod
    def _translate(err: RPCError, response_id: str) -> Exception:
        if err.status is RPCStatusCode.NOT_FOUND:
            return NotFound(f"no response {response_id}")
        return Unavailable(f"Temporal: {err.message}")
