"""`RespondToAlert`: one durable workflow per alert, from policy snapshot to the last revert.

    snapshot policies ─► evaluate (pure) ─► per action, concurrently:
        gate by mode ─► simulate | ask and wait | execute ─► audit ─► timer or release ─► revert

Deterministic code only: every side effect is an activity, addressed by its typed reference
(`riposte.activity_refs`); an action's activities come from its catalogue entry.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from riposte.actions.catalogue import CATALOGUE
    from riposte.actions.payloads import ActionInput, ActionResult, RevertInput
    from riposte.activity_refs import ActivityRef
    from riposte.audit.events import ENGINE, RECORD_AUDIT, AuditBatch, AuditKind, AuditRecord
    from riposte.audit.received import received_detail, summary
    from riposte.budget.models import SPEND_BUDGET, BudgetGrant, BudgetRequest
    from riposte.failures import TENANT_PERMANENT, FailureType
    from riposte.incidents.models import Escalation, Membership
    from riposte.incidents.scope import narrowed
    from riposte.modes import Mode, OnTimeout
    from riposte.policy.engine import PolicySnapshot, ResponsePlan, SnapshotRequest, evaluate
    from riposte.policy.snapshot import SNAPSHOT_POLICIES
    from riposte.response import (
        ActionState,
        ActionView,
        Decision,
        MatchedPolicy,
        Release,
        RespondInput,
        ResponseStatus,
        ResponseView,
    )
    from riposte.temporal_server import INCIDENT_ID, RESPONSE_STATUS, RESPONSE_TARGETS

from workflows.action_record import (
    ActionNotInState,
    ActionRecord,
    AlreadyApproved,
    SenderMayNotDecide,
    UnknownAction,
)

In = TypeVar("In", ActionInput, RevertInput)

# Workflow changes that running responses (which wait hours for a revert) must replay across.
# Each is taken with workflow.patched(ID); tests/histories/v1 holds responses recorded before.
TARGETS_SEARCHABLE = "response-targets-search-attribute"  # v2: find responses by user or IP
HOLD_UNTIL_RELEASED = "hold-until-released"  # v3: no duration means held until released
KEEP_NATIVE_ALERT = "alert-received-keeps-alert"  # alert_received holds the alert, for backtest
MULTI_APPROVAL = "m-of-n-approvals"  # v4: `approval: {approvers: N}` needs N principals
BUDGETS = "engine-wide-budgets"  # autonomous actions spend a shared budget, else they ask
PROTECTED_IN_ACTIVITY = "protected-in-activity"  # an activity's Protected refusal: excluded
INCIDENT_MEMBERSHIP = "incident-membership"  # v5: joins its incident, takes its escalations
ADDRESSES_NORMALISED = "addresses-normalised"  # v7: IPs normalised before exclusions and guards
OVER_BUDGET_EXPIRES = "over-budget-never-executes-on-timeout"  # asked for budget: a human decides
SNAPSHOT_ACTIVITY = "snapshot-as-activity"  # v9: the policy snapshot is a regular activity
JOIN_WAIT = timedelta(seconds=30)  # how long a joined response waits to learn its incident
POLICY_RETRY_SECONDS = 10  # while the policies cannot be loaded, try again this often

# The engine's bookkeeping (policy snapshot, audit): retried until the store answers.
BOOKKEEPING_TIMEOUT = timedelta(seconds=30)
BOOKKEEPING_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=10))
# Tenant calls: retried while transient (429/5xx, with Retry-After), failed at once when not.
PERMANENT_ERRORS = [t.value for t in TENANT_PERMANENT]
CALL_TIMEOUT = timedelta(seconds=30)
TENANT_RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=1), non_retryable_error_types=PERMANENT_ERRORS
)
ACT_DEADLINE = timedelta(hours=1)
# A revert keeps trying for a day: a block must not outlive its duration for a passing fault.
REVERT_DEADLINE = timedelta(hours=24)


@workflow.defn(name="RespondToAlert")
class RespondToAlert:
    @workflow.init
    def __init__(self, request: RespondInput) -> None:
        self._alert = request.alert
        self._id = workflow.info().workflow_id
        self._matched: tuple[MatchedPolicy, ...] = ()
        self._no_match = ""
        self._actions: dict[str, ActionRecord] = {}
        self._status = ResponseStatus.RUNNING
        self._hold_until_released = False
        self._keep_alert = False
        self._multi_approval = False
        self._budgets = False
        self._snapshot_activity = False
        self._sender = request.sender
        self._senders = {s for s in (request.sender, *request.senders) if s}
        self._incident_id = request.incident.incident_id if request.incident else ""
        self._escalations: list[Escalation] = []
        self._escalating = False  # v4, and the kill switch is off: escalations apply

    @workflow.signal(name="incident_joined")
    def incident_joined(self, membership: Membership) -> None:
        """The incident this response belongs to (sent by `TrackIncident`), with its escalations."""
        self._incident_id = self._incident_id or membership.incident_id
        for escalation in membership.escalations:
            self.escalate(escalation)

    @workflow.signal(name="escalate")
    def escalate(self, escalation: Escalation) -> None:
        """An incident-scope policy of this response's incident changes the mode of its actions
        of the named policies that are not yet carried out (applied by `_escalated`)."""
        if all(e.by_policy != escalation.by_policy for e in self._escalations):
            self._escalations.append(escalation)

    @workflow.run
    async def run(self, request: RespondInput) -> ResponseView:
        # Patch checks come first, before the policy snapshot: its local activity's result may
        # resolve in a later activation on replay than it did live.
        targets_searchable = workflow.patched(TARGETS_SEARCHABLE)
        self._hold_until_released = workflow.patched(HOLD_UNTIL_RELEASED)
        self._keep_alert = workflow.patched(KEEP_NATIVE_ALERT)
        self._multi_approval = workflow.patched(MULTI_APPROVAL)
        self._budgets = workflow.patched(BUDGETS)
        incidents = workflow.patched(INCIDENT_MEMBERSHIP)
        normalised = workflow.patched(ADDRESSES_NORMALISED)
        self._snapshot_activity = workflow.patched(SNAPSHOT_ACTIVITY)
        snapshot = await self._snapshot()
        if request.incident is not None:
            snapshot = narrowed(snapshot, request.incident)
        self._budgets = self._budgets and snapshot.budgets
        plan = evaluate(self._alert, snapshot, self._id, normalise_addresses=normalised)
        if incidents:
            await self._join_incident(request)
            self._escalating = not snapshot.force_passive
        self._actions = {a.action_id: ActionRecord(a) for a in plan.actions}
        targets = sorted({a.target for a in plan.actions})
        if targets and targets_searchable:
            workflow.upsert_search_attributes([RESPONSE_TARGETS.value_set(targets)])
        await self._audit(self._opening_records(plan))
        self._matched, self._no_match = plan.matched, plan.no_match_reason  # shown once audited
        for excluded in self._actions.values():
            if excluded.plan.excluded_reason:
                excluded.state = ActionState.EXCLUDED
                excluded.change = f"excluded: {excluded.plan.excluded_reason}"
        try:
            # return_exceptions: on cancellation, wait for every action to finish its revert
            # (plain gather would end the response at the first one, abandoning the rest).
            outcomes = await asyncio.gather(
                *(self._carry_out(a) for a in self._live_actions()), return_exceptions=True
            )
        except asyncio.CancelledError:
            self._set_status(ResponseStatus.COMPLETED)
            raise
        # Not in a `finally`: that would also run when the worker evicts the workflow.
        self._set_status(ResponseStatus.COMPLETED)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return self._view()

    async def _snapshot(self) -> PolicySnapshot:
        """The policy snapshot. While the policies cannot be loaded (a file with an error, a
        missing folder), the alert is on record and the response waits for them to be fixed:
        an accepted alert is never dropped."""
        reported = False
        # A regular activity (v9), not a local one: a local activity's result can resolve on
        # replay in the same activation as signals that came after it live (the SDK applies
        # signals first), so `incident_joined` or `escalate` would be seen earlier than they
        # were, and the commands after it (the join wait's timer, an escalated mode) differ:
        # the replay fails with a nondeterminism error. A regular activity's result is a
        # history event, ordered with the signals the same way live and on replay.
        execute = (
            workflow.execute_activity
            if self._snapshot_activity
            else workflow.execute_local_activity
        )
        while True:
            try:
                snapshot: PolicySnapshot = await execute(
                    SNAPSHOT_POLICIES.name,
                    SnapshotRequest(),
                    result_type=SNAPSHOT_POLICIES.result,
                    start_to_close_timeout=BOOKKEEPING_TIMEOUT,
                    retry_policy=BOOKKEEPING_RETRY,
                )
                return snapshot
            # A local activity's failure can surface as the ApplicationError itself.
            except (ActivityError, ApplicationError) as err:
                cause = err.cause if isinstance(err, ActivityError) else err
                if not reported:
                    why = f"policies cannot be loaded, retrying every {POLICY_RETRY_SECONDS}s"
                    await self._audit(
                        [
                            self._received(),
                            self._base(
                                AuditKind.FAILED, suffix="policies", detail=f"{why}: {cause}"
                            ),
                        ]
                    )
                    reported = True
                await workflow.sleep(POLICY_RETRY_SECONDS)

    @workflow.query(name="view")
    def view(self) -> ResponseView:
        return self._view()

    @workflow.update(name="decide")
    async def decide(self, decision: Decision) -> ActionView:
        action = self._actions[decision.action_id]
        # Checked again here, with no await before: two updates may pass their validators
        # before either handler runs.
        self._validate_decision(decision)
        if decision.approve and self._needs_more(action):
            action.approvals.append(decision)  # short of N: audited, the request stays open
            count = len(action.approvals)
            detail = f"approval {count} of {action.plan.approvers}"
            await self._audit(
                [
                    self._record(
                        action,
                        AuditKind.APPROVED,
                        decision.noted("; ".join(p for p in (detail, decision.comment) if p)),
                        actor=decision.by,
                        suffix=f"approval-{count}",
                    )
                ]
            )
            return action.view()
        action.decision = decision
        action.answerable = False
        undecided = (ActionState.PENDING_APPROVAL, ActionState.PLANNED)
        await workflow.wait_condition(lambda: action.state not in undecided)
        return action.view()

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        action = self._find(decision.action_id)
        if not action.answerable:
            raise ActionNotInState(action.plan.action_id, action.state, "pending approval")
        if decision.by in self._senders:  # who sent the alert (or the incident's alerts)
            of_incident = decision.by != self._sender
            raise SenderMayNotDecide(action.plan.action_id, decision.by, of_incident=of_incident)
        if any(a.by == decision.by for a in action.approvals):
            raise AlreadyApproved(action.plan.action_id, decision.by, action.state)

    def _needs_more(self, action: ActionRecord) -> bool:
        """True while an approval would still leave the action short of its N approvers."""
        return self._multi_approval and len(action.approvals) + 1 < action.plan.approvers

    @workflow.update(name="release")
    async def release(self, release: Release) -> ActionView:
        action = self._actions[release.action_id]
        action.release = release
        # Done once reverted, or once the revert has failed (then `error` says why).
        await workflow.wait_condition(
            lambda: action.state is not ActionState.EXECUTED or bool(action.error)
        )
        return action.view()

    @release.validator
    def _validate_release(self, release: Release) -> None:
        action = self._find(release.action_id)
        held = action.reversible and action.holding
        if action.state is not ActionState.EXECUTED or not held or action.release:
            raise ActionNotInState(action.plan.action_id, action.state, "executed and held")

    # -- one action, from gate to revert ------------------------------------------------------

    async def _carry_out(self, action: ActionRecord) -> None:
        try:
            await self._gate_act_hold(action)
        except (asyncio.CancelledError, ActivityError):
            # Cancelled after the change landed (while auditing it, or holding it): never leave
            # it in the tenant. (Not BaseException: eviction from the worker's cache must not act.)
            if action.state is ActionState.EXECUTED and action.reversible:
                await self._revert(action, AuditKind.RELEASED, "response cancelled", ENGINE)
            raise

    async def _join_incident(self, request: RespondInput) -> None:
        """Wait (a bounded time) for the incident intake joined this response to, so that its
        audit and its modes reflect the incident from the first step."""
        if request.joins_incident and not self._incident_id:
            # On timeout no incident worker answered: the response goes on alone.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: bool(self._incident_id), timeout=JOIN_WAIT)
        if self._incident_id:
            workflow.upsert_search_attributes([INCIDENT_ID.value_set(self._incident_id)])

    def _escalation_for(self, action: ActionRecord) -> Escalation | None:
        """The escalation that changes this action's mode, if any (never under the kill switch)."""
        if not self._escalating:
            return None
        for escalation in self._escalations:
            if action.plan.policy in escalation.policies and action.plan.mode != escalation.mode:
                return escalation
        return None

    async def _escalated(self, action: ActionRecord, escalation: Escalation) -> None:
        """Take the escalation's mode, audited `escalated`."""
        before = action.plan.mode
        action.plan = action.plan.model_copy(update={"mode": escalation.mode})
        detail = (
            f"{before.value} -> {escalation.mode.value} by incident policy "
            f"{escalation.by_policy} (incident {self._incident_id})"
        )
        record = self._record(action, AuditKind.ESCALATED, detail, suffix=escalation.by_policy)
        await self._audit([record])

    async def _gate_act_hold(self, action: ActionRecord) -> None:
        escalation = self._escalation_for(action)
        if escalation is not None:
            await self._escalated(action, escalation)
        if action.plan.mode is Mode.PASSIVE:
            await self._simulate(action)
            return
        if action.plan.mode is Mode.HUMAN_CONFIRM and not await self._approved(action):
            return
        budgeted = action.plan.mode is Mode.AUTONOMOUS and self._budgets
        over_budget = budgeted and not await self._within_budget(action)
        if over_budget and not await self._approved(action):
            return  # past its budget it asked instead (never dropped), and was not approved
        if not await self._execute(action):
            return
        duration = action.plan.duration_seconds
        if action.reversible and (duration is not None or self._hold_until_released):
            await self._hold_then_revert(action, duration)

    async def _within_budget(self, action: ActionRecord) -> bool:
        """Spend one unit of the engine-wide budget; past it, audit `budget_exceeded`."""
        p = action.plan
        grant: BudgetGrant = await workflow.execute_activity(
            SPEND_BUDGET.name,
            BudgetRequest(response_id=self._id, action_id=p.action_id, action=p.action.value),
            result_type=SPEND_BUDGET.result,
            start_to_close_timeout=BOOKKEEPING_TIMEOUT,
            retry_policy=BOOKKEEPING_RETRY,
        )
        if grant.granted:
            return True
        action.over_budget = f"over budget ({grant.reason}); waits for approval"
        await self._audit([self._record(action, AuditKind.BUDGET_EXCEEDED, action.over_budget)])
        return False

    async def _simulate(self, action: ActionRecord) -> ActionResult | None:
        result = await self._act(action, simulate=True)
        if result is None:
            return None
        action.change, action.api_calls = result.summary, result.api_calls
        if action.plan.mode is Mode.PASSIVE:
            await self._enter(action, ActionState.SIMULATED, AuditKind.SIMULATED, result.summary)
        return result

    async def _approved(self, action: ActionRecord) -> bool:
        """Ask, then wait for a decision or the policy's timeout. True means go ahead."""
        if await self._simulate(action) is None:
            return False
        timeout = action.plan.approval_timeout_seconds
        await self._enter(
            action,
            ActionState.PENDING_APPROVAL,
            AuditKind.APPROVAL_REQUESTED,
            f"{action.change} (waits {timeout}s)",
        )
        action.answerable = True
        try:
            await workflow.wait_condition(
                lambda: action.decision is not None or self._escalation_for(action) is not None,
                timeout=timedelta(seconds=timeout),
            )
        except TimeoutError:
            action.answerable = False  # before any await: no decision slips in while expiring
            return await self._expire(action)
        decision = action.decision
        if decision is None:  # escalated while pending: the new mode decides
            action.answerable = False
            escalation = self._escalation_for(action)
            assert escalation is not None
            await self._escalated(action, escalation)
            if action.plan.mode is Mode.PASSIVE:
                state, kind = ActionState.SIMULATED, AuditKind.SIMULATED
                await self._enter(action, state, kind, action.change)
                return False
            return action.plan.mode is Mode.AUTONOMOUS
        if decision.approve:
            detail = decision.comment
            if action.plan.approvers > 1:
                count = f"approval {len(action.approvals) + 1} of {action.plan.approvers}"
                detail = "; ".join(p for p in (count, detail) if p)
            await self._enter(
                action, ActionState.PLANNED, AuditKind.APPROVED, decision.noted(detail), decision.by
            )
            return True
        await self._enter(
            action,
            ActionState.REJECTED,
            AuditKind.REJECTED,
            decision.noted(action.why()),
            decision.by,
        )
        return False

    async def _expire(self, action: ActionRecord) -> bool:
        """The policy's `on_timeout`, except that an action past its budget asked a human, and
        without one it never runs (patched lazily: only such actions take the marker)."""
        execute = action.plan.on_timeout is OnTimeout.EXECUTE
        if execute and action.over_budget and workflow.patched(OVER_BUDGET_EXPIRES):
            execute = False
        then = "executing as the policy says" if execute else "no action taken"
        state = ActionState.PLANNED if execute else ActionState.EXPIRED
        await self._enter(action, state, AuditKind.APPROVAL_EXPIRED, f"nobody answered; {then}")
        return execute

    async def _execute(self, action: ActionRecord) -> bool:
        # Shielded: a cancelled response still learns what the tenant now holds, to revert it.
        handle = self._start_act(action, simulate=False)
        try:
            result = await asyncio.shield(handle)
        except asyncio.CancelledError:
            await self._settle(action, handle)  # then _carry_out reverts what landed
            raise
        except ActivityError as err:
            await self._fail(action, err)
            return False
        await self._executed(action, result)
        return True

    async def _settle(self, action: ActionRecord, handle: asyncio.Task[ActionResult]) -> None:
        """After cancellation, wait for the in-flight change, and record it if it landed."""
        try:
            result = await handle
        except ActivityError as err:
            await self._fail(action, err)
            return
        await self._executed(action, result)

    async def _executed(self, action: ActionRecord, result: ActionResult) -> None:
        action.result, action.change, action.api_calls = result, result.summary, result.api_calls
        duration = action.plan.duration_seconds
        if action.reversible and duration is not None:
            action.revert_at = workflow.now() + timedelta(seconds=duration)
        await self._enter(action, ActionState.EXECUTED, AuditKind.EXECUTED, result.summary)

    async def _hold_then_revert(self, action: ActionRecord, seconds: int | None) -> None:
        """Hold the change until its duration ends or someone releases it (with no duration,
        until released)."""
        action.holding = True
        try:
            await workflow.wait_condition(
                lambda: action.release is not None,
                timeout=timedelta(seconds=seconds) if seconds is not None else None,
            )
        except TimeoutError:
            action.holding = False
            await self._revert(action, AuditKind.REVERTED, f"duration of {seconds}s ended", ENGINE)
            return
        action.holding = False
        release = action.release
        assert release is not None
        await self._revert(action, AuditKind.RELEASED, release.noted(release.comment), release.by)

    async def _revert(self, action: ActionRecord, kind: AuditKind, why: str, actor: str) -> None:
        assert action.result is not None
        p = action.plan
        reverter = CATALOGUE[p.action].revert
        assert reverter is not None  # only reversible actions are reverted
        request = RevertInput(
            response_id=self._id,
            action_id=p.action_id,
            action=p.action,
            target=p.target,
            revert=action.result.revert,
        )
        for attempt in (1, 2):
            try:
                result = await _tenant_call(reverter, request, deadline=REVERT_DEADLINE)
                break
            except ActivityError as err:
                if isinstance(err.cause, CancelledError) and attempt == 1:
                    continue  # the response was cancelled mid-revert: the revert still runs
                await self._fail(action, err, reverting=True)
                return
        action.revert_at = None
        state = ActionState.RELEASED if kind is AuditKind.RELEASED else ActionState.REVERTED
        detail = "; ".join(part for part in (why, result.summary) if part)
        await self._enter(action, state, kind, detail, actor)

    async def _fail(
        self, action: ActionRecord, err: ActivityError, *, reverting: bool = False
    ) -> None:
        cause = err.cause
        kind = cause.type if isinstance(cause, ApplicationError) and cause.type else "Error"
        message = str(cause) if cause is not None else str(err)
        if kind == FailureType.PROTECTED and workflow.patched(PROTECTED_IN_ACTIVITY):
            # The activity refused a protected target the plan let through: excluded, not failed.
            action.change = f"excluded: {message}"
            await self._enter(action, ActionState.EXCLUDED, AuditKind.EXCLUDED, message)
            return
        action.error = f"{'revert ' if reverting else ''}{kind}: {message}"
        # A failed revert leaves the action executed: the change is still in the tenant.
        state = action.state if reverting else ActionState.FAILED
        suffix = "revert" if reverting else ""
        await self._enter(action, state, AuditKind.FAILED, action.error, suffix=suffix)

    async def _enter(
        self,
        action: ActionRecord,
        state: ActionState,
        kind: AuditKind,
        detail: str,
        actor: str = ENGINE,
        *,
        suffix: str = "",
    ) -> None:
        """Audit a step, then show it: no query ever sees a state the audit does not hold."""
        await self._audit([self._record(action, kind, detail, actor=actor, suffix=suffix)])
        action.state = state
        self._refresh_status()

    # -- activities ---------------------------------------------------------------------------

    def _start_act(self, action: ActionRecord, *, simulate: bool) -> asyncio.Task[ActionResult]:
        p = action.plan
        request = ActionInput(
            response_id=self._id,
            action_id=p.action_id,
            action=p.action,
            target=p.target,
            params=p.params,
            simulate=simulate,
        )
        return _tenant_call(CATALOGUE[p.action].act, request, deadline=ACT_DEADLINE)

    async def _act(self, action: ActionRecord, *, simulate: bool) -> ActionResult | None:
        try:
            return await self._start_act(action, simulate=simulate)
        except ActivityError as err:
            await self._fail(action, err)
            return None

    async def _audit(self, records: list[AuditRecord]) -> None:
        # A regular activity, not a local one: actions audit concurrently, and on replay the
        # SDK regroups concurrent local activity resolutions (temporalio/sdk-python#1881),
        # which can resume coroutines in another order than they ran live.
        await workflow.execute_activity(
            RECORD_AUDIT.name,
            AuditBatch(records=tuple(records)),
            result_type=RECORD_AUDIT.result,
            start_to_close_timeout=BOOKKEEPING_TIMEOUT,
            retry_policy=BOOKKEEPING_RETRY,
        )

    # -- bookkeeping --------------------------------------------------------------------------

    def _live_actions(self) -> list[ActionRecord]:
        return [a for a in self._actions.values() if not a.plan.excluded_reason]

    def _find(self, action_id: str) -> ActionRecord:
        action = self._actions.get(action_id)
        if action is None:
            raise UnknownAction(action_id)
        return action

    def _received(self) -> AuditRecord:
        detail = received_detail(self._alert) if self._keep_alert else summary(self._alert)
        return self._base(AuditKind.ALERT_RECEIVED, detail=detail, actor=self._sender or ENGINE)

    def _opening_records(self, plan: ResponsePlan) -> list[AuditRecord]:
        records = [self._received()]
        if not plan.matched:
            records.append(self._base(AuditKind.NO_MATCH, detail=plan.no_match_reason))
        for policy in plan.matched:
            records.append(
                self._base(
                    AuditKind.POLICY_MATCHED,
                    suffix=policy.name,
                    policy=policy.name,
                    policy_hash=policy.hash,
                    mode=policy.mode.value,
                )
            )
        for action in self._actions.values():
            if action.plan.excluded_reason:
                records.append(
                    self._record(action, AuditKind.EXCLUDED, action.plan.excluded_reason)
                )
        return records

    def _base(self, kind: AuditKind, *, suffix: str = "", **fields: str) -> AuditRecord:
        run = workflow.info().run_id  # a resent alert after retention is a new run: new ids
        key = "/".join(part for part in (self._id, run, kind.value, suffix) if part)
        return AuditRecord(
            id=key,
            time=workflow.now(),
            kind=kind,
            response_id=self._id,
            alert_id=self._alert.id,
            incident_id=self._incident_id,
            **fields,
        )

    def _record(
        self,
        action: ActionRecord,
        kind: AuditKind,
        detail: str,
        *,
        actor: str = ENGINE,
        suffix: str = "",
    ) -> AuditRecord:
        p = action.plan
        return self._base(
            kind,
            suffix=f"{p.action_id}{'/' + suffix if suffix else ''}",
            policy=p.policy,
            policy_hash=p.policy_hash,
            action_id=p.action_id,
            action=p.action.value,
            target=p.target,
            mode=p.mode.value,
            actor=actor,
            detail=detail,
        )

    def _refresh_status(self) -> None:
        states = {a.state for a in self._actions.values()}
        if ActionState.PENDING_APPROVAL in states:
            self._set_status(ResponseStatus.PENDING_APPROVAL)
        elif ActionState.EXECUTED in states:
            self._set_status(ResponseStatus.ACTIVE)
        else:
            self._set_status(ResponseStatus.RUNNING)

    def _set_status(self, status: ResponseStatus) -> None:
        if status is not self._status:
            self._status = status
            workflow.upsert_search_attributes([RESPONSE_STATUS.value_set(status.value)])

    def _view(self) -> ResponseView:
        return ResponseView(
            response_id=self._id,
            alert=self._alert,
            status=self._status,
            incident_id=self._incident_id,
            matched=self._matched,
            no_match_reason=self._no_match,
            actions=tuple(a.view() for a in self._actions.values()),
        )


def _tenant_call(
    ref: ActivityRef[In, ActionResult], request: In, *, deadline: timedelta
) -> asyncio.Task[ActionResult]:
    """Start an action's activity: retried while transient, failed at once when not."""
    handle: asyncio.Task[ActionResult] = workflow.start_activity(
        ref.name,
        request,
        result_type=ref.result,
        start_to_close_timeout=CALL_TIMEOUT,
        schedule_to_close_timeout=deadline,
        retry_policy=TENANT_RETRY,
    )
    return handle
