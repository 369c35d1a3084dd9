"""enforce_pattern_of_life: learn a device's normal outbound traffic from its VNet flow logs and
allow only that, with NSG Allow rules for what it normally reaches and a Deny of all its other
outbound traffic, in the band of the NSG that protects it (`NsgBinding.band`). Passive mode names
the exact allow-list and the last hour's flows it would deny. Without flow history the action
fails typed (NoFlowLogConfiguration, NoFlowLogs), unless the policy names
`fallback: block_outbound`, which is then done instead.

The rules are shared blocks, as block_outbound's are (`activities.network`): the response holds
each in the holders ledger before writing, so two responses for one device hold one rule set, and
the revert, `unblock`, deletes a rule only when its last holder lets go (the reconciler sees them
too). As there, someone else's Allow rule that matches the device before the Deny, or a full
band, fails the action (non-retryable, naming it) and lets go of its holds; flushConnection is
turned on so the Deny cuts live sessions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from azure.core.credentials_async import AsyncTokenCredential
from azure.mgmt.network.aio import NetworkManagementClient
from azure.mgmt.network.models import SecurityRule, SecurityRulePropertiesFormat
from azure.storage.blob.aio import BlobServiceClient
from temporalio.exceptions import ApplicationError

from activities.errors import translated
from activities.flow_logs import FlowLogSource
from activities.network import (
    CONFLICT_ATTEMPTS,
    RELEASING_RETRY,
    NetworkActivities,
    band_error,
    block_key,
)
from activities.nsg_access import NsgAccess, rule_path, wait
from activities.outcome import outcome
from riposte.actions import firewall, validation
from riposte.actions.catalogue import ENFORCE_PATTERN_OF_LIFE
from riposte.actions.payloads import (
    ActionInput,
    ActionName,
    ActionResult,
    NsgRuleRef,
    RevertState,
)
from riposte.actions.validation import IpNetwork
from riposte.domain.nsg_band import BandViolation
from riposte.failures import FailureType, misconfigured
from riposte.holders.models import BlockReleasing, Holder, describe_holders
from riposte.pattern_of_life import (
    AllowListTooLarge,
    Destination,
    DeviceNotFound,
    NoFlowLogConfiguration,
    NoFlowLogs,
    PatternLearner,
    PatternOfLifeError,
    PatternRule,
    plan_rules,
    rule_names,
)
from riposte.settings import NsgBinding, TenantSettings

WEEK_SECONDS = 7 * 86400
SHOWN = 10  # denied destinations and skipped blobs named in a summary
_FAILURES: dict[type[PatternOfLifeError], FailureType] = {
    DeviceNotFound: FailureType.NOT_FOUND,
    NoFlowLogConfiguration: FailureType.NO_FLOW_LOG_CONFIGURATION,
    NoFlowLogs: FailureType.NO_FLOW_LOGS,
    AllowListTooLarge: FailureType.ALLOW_LIST_TOO_LARGE,
}
_FALLBACK_ON = (DeviceNotFound, NoFlowLogConfiguration, NoFlowLogs)


def blob_services(
    tenant: TenantSettings, credential: AsyncTokenCredential
) -> Callable[[str], BlobServiceClient]:
    """A Blob Storage client per storage account, on the tenant's credential and CA bundle."""

    def service(account: str) -> BlobServiceClient:
        url = tenant.blob_url.format(account=account)
        if tenant.ca_bundle:
            return BlobServiceClient(url, credential, connection_verify=str(tenant.ca_bundle))
        return BlobServiceClient(url, credential)

    return service


class PatternOfLifeActivities:
    def __init__(
        self,
        network: NetworkManagementClient,
        blob_service_for: Callable[[str], BlobServiceClient],
        tenant: TenantSettings,
        fallback: NetworkActivities,
    ) -> None:
        self.network = network
        self.nsgs = NsgAccess(network)
        self.source = FlowLogSource(network, blob_service_for)
        self.tenant = tenant
        self.fallback = fallback

    @ENFORCE_PATTERN_OF_LIFE.act.defn
    async def enforce_pattern_of_life(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.ENFORCE_PATTERN_OF_LIFE, request.action)
        source = validation.address(request.target)
        if source.num_addresses != 1:
            raise misconfigured(f"a pattern of life is one device's, not range {source}'s")
        device = str(source.network_address)
        binding = self._binding(request, source)
        params = request.params
        until = dt.datetime.now(dt.UTC)
        since = until - dt.timedelta(seconds=params.learn_seconds or WEEK_SECONDS)
        try:
            learner = await self._learn(device, since, until)
            allow = learner.allow_list(params.min_days or 2, self.tenant.pattern_of_life_cap)
        except PatternOfLifeError as err:
            if params.fallback is ActionName.BLOCK_OUTBOUND and isinstance(err, _FALLBACK_ON):
                instead = request.model_copy(update={"action": ActionName.BLOCK_OUTBOUND})
                result = await self.fallback.block_outbound(instead)
                summary = f"{err}; instead, block_outbound: {result.summary}"
                return result.model_copy(update={"summary": summary, "action": request.action})
            raise ApplicationError(
                str(err), type=_FAILURES[type(err)], non_retryable=True
            ) from None
        refs = tuple(_ref(binding, name) for name in rule_names(binding.name, device, allow))
        holder = Holder(response_id=request.response_id, action_id=request.action_id)
        others = () if request.simulate else await self._hold(refs, holder)
        try:
            rules, changed, flush = await self._place(request, binding, device, allow)
        except ApplicationError as err:
            if not request.simulate and err.non_retryable:  # nothing is left half-applied
                for ref in refs:
                    await self.fallback.let_go(ref, holder)
            raise
        summary = _summary(request, binding, learner, rules, since) + flush
        if others:
            summary += f"; shared with {describe_holders(others)}"
        calls = [f"PUT {rule_path(_ref(binding, r.name))} priority={r.priority}" for r in rules]
        if request.simulate:
            return outcome(request, changed=False, summary=summary, calls=calls)
        revert = RevertState(nsg_rules=refs)
        return outcome(request, changed=changed, summary=summary, calls=calls, revert=revert)

    async def _hold(self, refs: tuple[NsgRuleRef, ...], holder: Holder) -> tuple[Holder, ...]:
        """Hold every rule in the ledger before writing, as block_outbound does; returns who
        else holds any of them."""
        others: dict[str, Holder] = {}
        for ref in refs:
            try:
                held = await asyncio.to_thread(self.fallback.ledger.hold, block_key(ref), holder)
            except BlockReleasing as err:
                raise ApplicationError(
                    str(err), type=FailureType.TRANSIENT, next_retry_delay=RELEASING_RETRY
                ) from None
            others |= {h.action_id: h for h in held.others}
        return tuple(others.values())

    async def _place(
        self,
        request: ActionInput,
        binding: NsgBinding,
        device: str,
        allow: tuple[Destination, ...],
    ) -> tuple[tuple[PatternRule, ...], bool, str]:
        """Read the NSG, plan the rules in its band (or refuse, as a block does), turn on
        flushConnection, then PUT each rule not already there at its priority. Returns the
        rules, whether any was written, and what was done about flushConnection."""
        for _ in range(CONFLICT_ATTEMPTS):
            state, nsg = await self.nsgs.read(binding)
            try:
                rules = plan_rules(binding.name, device, allow, state.rules, binding.band)
            except BandViolation as err:
                raise band_error(err) from None
            # Checked first, written after: an enforcement that would not hold changes nothing.
            flush = ""
            if not state.flush_connection:
                if request.simulate:
                    flush = f"; would turn on flushConnection on {binding.name}"
                elif not await self.nsgs.turn_on_flushing(binding, nsg):
                    continue  # the NSG changed under us: read it again
                else:
                    flush = f"; turned on flushConnection on {binding.name}"
            if request.simulate:
                return rules, False, flush
            existing = {r.name: r.priority for r in state.rules}
            changed = False
            for rule in rules:
                if existing.get(rule.name) != rule.priority:
                    await self._put(binding, device, rule, request)
                    changed = True
            return rules, changed, flush
        raise ApplicationError(
            f"{binding.name} kept being changed by other writers", type=FailureType.TRANSIENT
        )

    def _binding(self, request: ActionInput, source: IpNetwork) -> NsgBinding:
        planned = firewall.plan(ActionName.BLOCK_OUTBOUND, source.network_address, self.tenant)
        if not planned:
            raise misconfigured(
                f"no configured NSG protects a range containing {request.target}: check the "
                "tenant's NSG settings (tenant.nsgs)"
            )
        return planned[0].nsg

    async def _learn(self, device: str, since: dt.datetime, until: dt.datetime) -> PatternLearner:
        """Stream the device's blobs, one at a time, into a learner."""
        since_ms, until_ms = int(since.timestamp() * 1000), int(until.timestamp() * 1000)
        learner = PatternLearner(device, since_ms, until_ms)
        with translated(f"reading the flow logs of {device}"):
            nic = await self.source.nic_for(device)
            log = await self.source.flow_log_for(nic)
            async for name, content in self.source.blobs(log, nic, since, until):
                learner.add_blob(name, content)
        if learner.tuples == 0:
            skipped = (
                f" ({len(learner.skipped)} malformed blobs skipped)" if learner.skipped else ""
            )
            raise NoFlowLogs(
                f"flow log {log.id.rsplit('/', 1)[-1]} holds no outbound flows of {device} "
                f"(NIC {nic.name}, MAC {nic.mac}) since {since:%Y-%m-%d %H:%M}Z{skipped}"
            )
        return learner

    async def _put(
        self, binding: NsgBinding, device: str, rule: PatternRule, request: ActionInput
    ) -> None:
        target = rule.destination
        properties = SecurityRulePropertiesFormat(
            description=f"Riposte pattern of life for {device} ({request.response_id})"[:140],
            protocol=target.protocol.value if target else "*",
            access="Allow" if target else "Deny",
            direction="Outbound",
            priority=rule.priority,
            source_address_prefix=device,
            source_port_range="*",
            destination_address_prefix=target.prefix if target else "*",
            destination_port_range=str(target.port) if target else "*",
        )
        with translated(f"adding rule {rule.name} to {binding.name}"):
            poller = await self.network.security_rules.begin_create_or_update(
                binding.resource_group,
                binding.name,
                rule.name,
                SecurityRule(properties=properties),
            )
            await wait(poller)


def _text(value: object) -> str:
    return str(getattr(value, "value", value))


def _ref(binding: NsgBinding, rule: str) -> NsgRuleRef:
    return NsgRuleRef(resource_group=binding.resource_group, nsg=binding.name, rule=rule)


def _summary(
    request: ActionInput,
    binding: NsgBinding,
    learner: PatternLearner,
    rules: tuple[PatternRule, ...],
    since: dt.datetime,
) -> str:
    allow = tuple(r.destination for r in rules if r.destination is not None)
    verb = "would allow" if request.simulate else "allowed"
    listed = ", ".join(d.text for d in allow) or "nothing"
    deny = next(r for r in rules if r.destination is None)
    text = (
        f"{verb} only {len(allow)} learned destinations of {request.target} on {binding.name} "
        f"({listed}), then Deny all other outbound (priority {deny.priority}); learned from "
        f"{learner.blobs} flow-log blobs ({learner.tuples} outbound tuples) since "
        f"{since:%Y-%m-%d %H:%M}Z"
    )
    denied = learner.denied_recently(allow)
    if denied:
        shown = ", ".join(
            f"{d.dst} {d.protocol.value.lower()}/{d.port}  ({d.flows} flows)"
            for d in denied[:SHOWN]
        )
        more = f" and {len(denied) - SHOWN} more" if len(denied) > SHOWN else ""
        text += (
            f"; of the last hour's flows it would deny {len(denied)} destinations: {shown}{more}"
        )
    else:
        text += "; none of the last hour's flows would be denied"
    if learner.skipped:
        names = "; ".join(f"{s.name} ({s.reason})" for s in learner.skipped[:SHOWN])
        text += f"; skipped {len(learner.skipped)} malformed blobs: {names}"
    return text
