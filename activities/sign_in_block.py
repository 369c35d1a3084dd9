"""block_sign_in_from {prefix} and its revert unblock_sign_in_from: the attacker's public range
in the ipNamedLocation "Riposte blocked sign-ins", which a Conditional Access policy blocks for
every account but the protected ones.

    block:   range = validation.sign_in_range(ip, prefix)   (private, reserved, too wide: refused)
             location missing -> POST it with the range; else PATCH ipRanges + range (a set)
             policy missing   -> POST it (state: tenant.sign_in_block_state), all users and
                                 client apps, protected accounts and the protected
                                 directory roles (excludeRoles) excluded, grant: block
    revert:  PATCH ipRanges - the ranges THIS action added (never ranges others added); when
             that empties the location, the policy and the location are deleted (Graph refuses
             an empty location; the next block creates both again)

Two responses that block one range share it through the holders ledger (`riposte.holders`):
each holds it, only the first adds it, and only the last to release it removes it (a range
that was there before any Riposte holder is someone else's and is never removed). The
reconciler removes a range no live response holds through `remove_range`. Before the write the
activity records the range in its heartbeat, so a retry after the PATCH landed still knows this
action added it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.conditional_access_applications import (
    ConditionalAccessApplications,
)
from msgraph.generated.models.conditional_access_client_app import ConditionalAccessClientApp
from msgraph.generated.models.conditional_access_condition_set import (
    ConditionalAccessConditionSet,
)
from msgraph.generated.models.conditional_access_grant_control import (
    ConditionalAccessGrantControl,
)
from msgraph.generated.models.conditional_access_grant_controls import (
    ConditionalAccessGrantControls,
)
from msgraph.generated.models.conditional_access_locations import ConditionalAccessLocations
from msgraph.generated.models.conditional_access_policy import ConditionalAccessPolicy
from msgraph.generated.models.conditional_access_policy_state import (
    ConditionalAccessPolicyState,
)
from msgraph.generated.models.conditional_access_users import ConditionalAccessUsers
from msgraph.generated.models.i_pv4_cidr_range import IPv4CidrRange
from msgraph.generated.models.i_pv6_cidr_range import IPv6CidrRange
from msgraph.generated.models.ip_named_location import IpNamedLocation
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_service_client import GraphServiceClient
from temporalio.exceptions import ApplicationError

from activities import progress
from activities.errors import needing, status_of, translated
from activities.outcome import outcome
from activities.protection import ProtectedEntities
from riposte.actions import validation
from riposte.actions.catalogue import BLOCK_SIGN_IN_FROM, UNBLOCK_SIGN_IN_FROM
from riposte.actions.payloads import ActionInput, ActionName, ActionResult, RevertInput, RevertState
from riposte.failures import FailureType
from riposte.holders.ledger import Ledger
from riposte.holders.models import (
    BlockKey,
    BlockKind,
    BlockReleasing,
    Holder,
    HoldOutcome,
    describe_holders,
)
from riposte.settings import TenantSettings

NEEDS = BLOCK_SIGN_IN_FROM.graph
CONDITIONAL_ACCESS = needing(NEEDS, "Policy.Read.All", "Policy.ReadWrite.ConditionalAccess")
USERS = needing(NEEDS, "User.Read.All")
_LOCATIONS = "/identity/conditionalAccess/namedLocations"
_POLICIES = "/identity/conditionalAccess/policies"
RELEASING_RETRY = timedelta(seconds=2)


class NamedLocationRanges:
    """The ranges of Riposte's ipNamedLocation, read and written one range at a time."""

    def __init__(self, graph: GraphServiceClient, name: str) -> None:
        self.graph = graph
        self.name = name
        self._locations = graph.identity.conditional_access.named_locations

    async def find(self) -> tuple[str | None, list[str]]:
        """The location's id (None when missing) and its ranges as CIDR strings."""
        with translated(f"reading the named location '{self.name}'", CONDITIONAL_ACCESS):
            page = await self._locations.get()
            while page is not None:
                for found in page.value or []:
                    if isinstance(found, IpNamedLocation) and found.display_name == self.name:
                        return str(found.id), [_cidr(r) for r in found.ip_ranges or []]
                if not page.odata_next_link:
                    break
                page = await self._locations.with_url(page.odata_next_link).get()
        return None, []

    async def add(self, cidr: str) -> str:
        """Add `cidr` (creating the location when missing); returns the location's id."""
        location_id, ranges = await self.find()
        if location_id is None:
            body = IpNamedLocation(
                display_name=self.name, is_trusted=False, ip_ranges=[_range(cidr)]
            )
            with translated(f"creating the named location '{self.name}'", CONDITIONAL_ACCESS):
                created = await self._locations.post(body)
            return str(created.id) if created is not None else ""
        if cidr not in ranges:
            await self._write(location_id, [*ranges, cidr])
        return location_id

    async def remove(self, cidr: str) -> list[str]:
        """Remove `cidr` when present (never emptying the location); the ranges left."""
        location_id, ranges = await self.find()
        left = [r for r in ranges if r != cidr]
        if location_id is not None and left and left != ranges:
            await self._write(location_id, left)
        return left

    async def delete(self) -> bool:
        """Delete the location (its policy first); False when it was already gone."""
        location_id, _ = await self.find()
        if location_id is None:
            return False
        with translated(f"deleting the named location '{self.name}'", CONDITIONAL_ACCESS):
            await self._locations.by_named_location_id(location_id).delete()
        return True

    async def _write(self, location_id: str, ranges: Sequence[str]) -> None:
        body = IpNamedLocation(ip_ranges=[_range(cidr) for cidr in ranges])
        with translated(
            f"updating the ranges of the named location '{self.name}'", CONDITIONAL_ACCESS
        ):
            await self._locations.by_named_location_id(location_id).patch(body)


class SignInBlockActivities:
    """block_sign_in_from and unblock_sign_in_from, on one msgraph client."""

    def __init__(
        self,
        graph: GraphServiceClient,
        tenant: TenantSettings,
        protected_users: Sequence[str],
        ledger: Ledger | None = None,
        protection: ProtectedEntities | None = None,
    ) -> None:
        self.graph = graph
        self.tenant = tenant
        self.ledger = ledger
        self.protected_users = tuple(protected_users)
        self.protection = protection  # its roles' holders are excluded from the policy too
        self.ranges = NamedLocationRanges(graph, tenant.sign_in_block_location)
        self._policies = graph.identity.conditional_access.policies

    @BLOCK_SIGN_IN_FROM.act.defn
    async def block_sign_in_from(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.BLOCK_SIGN_IN_FROM, request.action)
        params = request.params
        cidr = str(validation.sign_in_range(request.target, params.prefix, params.prefix_v6))
        location = self.tenant.sign_in_block_location
        earlier = progress.recall()
        location_id, ranges = await self.ranges.find()
        policy_id = await self._policy_id()
        mine = cidr not in ranges or (earlier is not None and cidr in earlier.ranges)
        calls: list[str] = []
        steps: list[tuple[str, str, str]] = []  # (what would be done, what was done)
        if location_id is None:
            calls.append(f"POST {_LOCATIONS} displayName='{location}' ipRanges=[{cidr}]")
            steps.append(("create", "created", f" the named location '{location}' with {cidr}"))
        elif cidr not in ranges:
            calls.append(f"PATCH {_LOCATIONS}/{location_id} ipRanges+={cidr}")
            steps.append(("add", "added", f" {cidr} to '{location}' ({len(ranges)} ranges before)"))
        if policy_id is None:
            name, state = self.tenant.sign_in_block_policy, self.tenant.sign_in_block_state
            calls.append(f"POST {_POLICIES} displayName='{name}' state={state.value}")
            but = ", ".join(self.protected_users) or "none"
            if self.protection is not None:
                but += " and the holders of the protected directory roles"
            policy = f" the Conditional Access policy '{name}' ({state.value}) blocking sign-ins"
            steps.append(("create", "created", f"{policy} from it for every account but {but}"))
        if request.simulate:
            if not steps:
                summary = f"sign-ins from {cidr} are already blocked ('{location}'); would change "
                return outcome(request, changed=False, summary=summary + "nothing")
            summary = f"would block sign-ins from {cidr}: " + "; ".join(a + t for a, _, t in steps)
            return outcome(request, changed=False, summary=summary, calls=calls)
        shared = ""
        if self.ledger is not None:
            key, holder = (
                self._key(cidr),
                Holder(response_id=request.response_id, action_id=request.action_id),
            )
            held = await self._hold(key, holder)
            if not held.first:
                mine, shared = True, f", shared with {describe_holders(held.others)}"
            elif not mine:  # there before any Riposte holder: someone else's range
                await asyncio.to_thread(self.ledger.release, key, holder)
                await asyncio.to_thread(self.ledger.forget, key)
        if not steps:
            summary = f"sign-ins from {cidr} are already blocked ('{location}'{shared}); "
            revert = RevertState(ranges=(cidr,) if mine and (earlier is not None or shared) else ())
            changed = bool(revert.ranges) and not shared
            return outcome(
                request, changed=changed, summary=summary + "nothing changed", revert=revert
            )
        revert = RevertState(ranges=(cidr,) if mine else ())
        progress.remember(revert)
        location_id = await self.ranges.add(cidr)
        if policy_id is None:
            await self._create_policy(location_id)
        summary = f"blocked sign-ins from {cidr}: " + "; ".join(d + t for _, d, t in steps)
        return outcome(request, changed=True, summary=summary, calls=calls, revert=revert)

    @UNBLOCK_SIGN_IN_FROM.defn
    async def unblock_sign_in_from(self, request: RevertInput) -> ActionResult:
        validation.action(ActionName.BLOCK_SIGN_IN_FROM, request.action)
        location = self.tenant.sign_in_block_location
        holder = Holder(response_id=request.response_id, action_id=request.action_id)
        removed: list[str] = []
        kept: list[str] = []
        for cidr in request.revert.ranges:
            if self.ledger is not None:
                released = await asyncio.to_thread(self.ledger.release, self._key(cidr), holder)
                if not released.last:
                    kept.append(f"{cidr} (still held by {describe_holders(released.remaining)})")
                    continue
            if await self.remove_range(cidr):
                removed.append(cidr)
            if self.ledger is not None:
                await asyncio.to_thread(self.ledger.forget, self._key(cidr))
        summary = f"removed {', '.join(removed)} from '{location}'" if removed else ""
        summary = summary or f"no range of ours left in '{location}'"
        if removed and (await self.ranges.find())[0] is None:
            summary += "; it held no other range, so it and its policy were deleted"
        if kept:
            summary += "; kept " + ", ".join(kept)
        calls = [f"PATCH {_LOCATIONS} ipRanges-={cidr}" for cidr in removed]
        return outcome(request, changed=bool(removed), summary=summary, calls=calls)

    async def remove_range(self, cidr: str) -> bool:
        """Remove one range (the reconciler's seam too); False when it was not there. Removing
        the last one deletes the policy and the location: Graph refuses an empty location, and
        nothing is left to block."""
        _, ranges = await self.ranges.find()
        if cidr not in ranges:
            return False
        if not await self.ranges.remove(cidr):
            await self._delete_policy()
            await self.ranges.delete()
        return True

    def _key(self, cidr: str) -> BlockKey:
        location = self.tenant.sign_in_block_location
        return BlockKey(kind=BlockKind.NAMED_LOCATION_RANGE, scope=location, item=cidr)

    async def _hold(self, key: BlockKey, holder: Holder) -> HoldOutcome:
        assert self.ledger is not None
        try:
            return await asyncio.to_thread(self.ledger.hold, key, holder)
        except BlockReleasing as err:
            raise ApplicationError(
                str(err), type=FailureType.TRANSIENT, next_retry_delay=RELEASING_RETRY
            ) from None

    # The policy

    async def _policy_id(self) -> str | None:
        name = self.tenant.sign_in_block_policy
        with translated(f"reading the Conditional Access policy '{name}'", CONDITIONAL_ACCESS):
            page = await self._policies.get()
            while page is not None:
                for policy in page.value or []:
                    if policy.display_name == name and policy.id:
                        return str(policy.id)
                if not page.odata_next_link:
                    break
                page = await self._policies.with_url(page.odata_next_link).get()
        return None

    async def _create_policy(self, location_id: str) -> None:
        excluded = [await self._user_id(upn) for upn in self.protected_users]
        roles = await self.protection.role_templates() if self.protection else []
        policy = ConditionalAccessPolicy(
            display_name=self.tenant.sign_in_block_policy,
            state=ConditionalAccessPolicyState(self.tenant.sign_in_block_state.value),
            conditions=ConditionalAccessConditionSet(
                users=ConditionalAccessUsers(
                    include_users=["All"],
                    exclude_users=[uid for uid in excluded if uid],
                    exclude_roles=roles,
                ),
                applications=ConditionalAccessApplications(include_applications=["All"]),
                client_app_types=[ConditionalAccessClientApp.All],  # legacy protocols too
                locations=ConditionalAccessLocations(include_locations=[location_id]),
            ),
            grant_controls=ConditionalAccessGrantControls(
                operator="OR", built_in_controls=[ConditionalAccessGrantControl.Block]
            ),
        )
        with translated(
            f"creating the Conditional Access policy '{policy.display_name}'", CONDITIONAL_ACCESS
        ):
            await self._policies.post(policy)

    async def _delete_policy(self) -> None:
        policy_id = await self._policy_id()
        if policy_id is None:
            return
        with translated("deleting the Conditional Access policy", CONDITIONAL_ACCESS):
            try:
                await self._policies.by_conditional_access_policy_id(policy_id).delete()
            except Exception as err:
                if status_of(err) != 404:
                    raise

    async def _user_id(self, upn: str) -> str | None:
        """A protected account's object id (the policy excludes ids); None when it is missing."""
        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["id"])
        with translated(f"reading protected user {upn}", USERS):
            try:
                user = await self.graph.users.by_user_id(upn).get(
                    RequestConfiguration(query_parameters=query)
                )
            except Exception as err:
                if status_of(err) == 404:
                    return None
                raise
        return str(user.id) if user is not None and user.id else None


def _range(cidr: str) -> IPv4CidrRange | IPv6CidrRange:
    return IPv6CidrRange(cidr_address=cidr) if ":" in cidr else IPv4CidrRange(cidr_address=cidr)


def _cidr(found: object) -> str:
    return str(getattr(found, "cidr_address", "") or "")
