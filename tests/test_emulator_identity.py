"""The emulator's identity routes through the real msgraph-sdk: password profile, authentication
methods, app consents and their audit, Conditional Access, and directory roles."""

from __future__ import annotations

import datetime as dt

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.audit_logs.directory_audits.directory_audits_request_builder import (
    DirectoryAuditsRequestBuilder,
)
from msgraph.generated.models.conditional_access_applications import (
    ConditionalAccessApplications,
)
from msgraph.generated.models.conditional_access_condition_set import (
    ConditionalAccessConditionSet,
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
from msgraph.generated.models.ip_named_location import IpNamedLocation
from msgraph.generated.models.microsoft_authenticator_authentication_method import (
    MicrosoftAuthenticatorAuthenticationMethod,
)
from msgraph.generated.models.o_auth2_permission_grant import OAuth2PermissionGrant
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.phone_authentication_method import PhoneAuthenticationMethod
from msgraph.generated.models.user import User
from msgraph.generated.oauth2_permission_grants.oauth2_permission_grants_request_builder import (
    Oauth2PermissionGrantsRequestBuilder,
)
from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (  # noqa: E501
    RoleAssignmentsRequestBuilder,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from tenant_emulator.client import EmulatorSeam

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
BLOCKED = "Riposte blocked sign-ins"


async def _user_id(graph: GraphServiceClient, upn: str) -> str:
    user = await graph.users.by_user_id(upn).get()
    assert user is not None and user.id is not None
    return user.id


async def test_password_profile_patch_sets_force_change(
    graph: GraphServiceClient, emulator_seam: EmulatorSeam
) -> None:
    """PATCH passwordProfile.forceChangePasswordNextSignIn shows in the seam and in $select."""
    assert not emulator_seam.state()["users"]["ben@contoso.com"]["forceChangePasswordNextSignIn"]
    profile = PasswordProfile(force_change_password_next_sign_in=True)
    await graph.users.by_user_id("ben@contoso.com").patch(User(password_profile=profile))
    assert emulator_seam.state()["users"]["ben@contoso.com"]["forceChangePasswordNextSignIn"]
    user = await graph.users.by_user_id("ben@contoso.com").get(
        RequestConfiguration(
            query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                select=["passwordProfile"]
            )
        )
    )
    assert user is not None and user.password_profile is not None
    assert user.password_profile.force_change_password_next_sign_in is True
    assert user.password_profile.password is None


async def test_auth_methods_list_typed_and_attacker_authenticator_deletes(
    graph: GraphServiceClient, emulator_seam: EmulatorSeam
) -> None:
    """ben@'s methods parse as their SDK types; the authenticator registered hours ago is
    deleted through microsoftAuthenticatorMethods, the older ones stay."""
    user_id = await _user_id(graph, "ben@contoso.com")
    page = await graph.users.by_user_id(user_id).authentication.methods.get()
    assert page is not None and page.value is not None
    kinds = {type(m).__name__ for m in page.value}
    assert {"MicrosoftAuthenticatorAuthenticationMethod", "PhoneAuthenticationMethod"} <= kinds
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)
    attacker = [
        m
        for m in page.value
        if isinstance(m, MicrosoftAuthenticatorAuthenticationMethod)
        and m.created_date_time is not None
        and m.created_date_time > recent
    ]
    assert [m.display_name for m in attacker] == ["SM-A515F"]
    phones = [m for m in page.value if isinstance(m, PhoneAuthenticationMethod)]
    assert phones[0].phone_number == "+1 4255550102" and phones[0].created_date_time is None
    authenticators = graph.users.by_user_id(user_id).authentication.microsoft_authenticator_methods
    assert attacker[0].id is not None
    await authenticators.by_microsoft_authenticator_authentication_method_id(
        attacker[0].id
    ).delete()
    left = emulator_seam.state()["auth_methods"]["ben@contoso.com"]
    assert attacker[0].id not in [m["id"] for m in left] and len(left) == len(page.value) - 1
    with pytest.raises(ODataError) as missing:
        await authenticators.by_microsoft_authenticator_authentication_method_id(
            attacker[0].id
        ).delete()
    assert missing.value.response_status_code == 404
    assert emulator_seam.effects()["DELETE /v1.0/users/{id}/authentication/{kind}/{method}"] == 1


async def test_phone_method_deletes_through_phone_methods(
    graph: GraphServiceClient, emulator_seam: EmulatorSeam
) -> None:
    """A phone method is deleted through phoneMethods by its well-known id."""
    phones = graph.users.by_user_id("dana@contoso.com").authentication.phone_methods
    page = await phones.get()
    assert page is not None and page.value and page.value[0].id is not None
    await phones.by_phone_authentication_method_id(page.value[0].id).delete()
    kinds = [m["@odata.type"] for m in emulator_seam.state()["auth_methods"]["dana@contoso.com"]]
    assert "#microsoft.graph.phoneAuthenticationMethod" not in kinds


async def test_grants_filter_by_principal_and_audit_dates_the_recent_consent(
    graph: GraphServiceClient, emulator_seam: EmulatorSeam
) -> None:
    """adele@'s grants come by $filter on principalId; the directory audit dates the consent to
    the unknown app within the day; DELETE then POST of the saved copy restores it."""
    user_id = await _user_id(graph, "adele@contoso.com")
    config = RequestConfiguration(
        query_parameters=Oauth2PermissionGrantsRequestBuilder.Oauth2PermissionGrantsRequestBuilderGetQueryParameters(
            filter=f"principalId eq '{user_id}'"
        )
    )
    page = await graph.oauth2_permission_grants.get(config)
    assert page is not None and page.value is not None and len(page.value) == 3
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    audits = await graph.audit_logs.directory_audits.get(
        RequestConfiguration(
            query_parameters=DirectoryAuditsRequestBuilder.DirectoryAuditsRequestBuilderGetQueryParameters(
                filter="activityDisplayName eq 'Consent to application' and "
                f"initiatedBy/user/id eq '{user_id}' and activityDateTime ge {since}"
            )
        )
    )
    assert audits is not None and audits.value is not None and len(audits.value) == 1
    target = audits.value[0].target_resources
    assert target is not None and target[0].display_name == "Mail Backup Assistant"
    recent = [g for g in page.value if g.client_id == target[0].id]
    assert len(recent) == 1 and recent[0].id is not None
    assert "Mail.Send" in (recent[0].scope or "")
    await graph.oauth2_permission_grants.by_o_auth2_permission_grant_id(recent[0].id).delete()
    apps = [g["app"] for g in emulator_seam.state()["app_consents"]["adele@contoso.com"]]
    assert sorted(apps) == ["Adobe Acrobat", "Zoom for Outlook"]
    saved = recent[0]
    created = await graph.oauth2_permission_grants.post(
        OAuth2PermissionGrant(
            client_id=saved.client_id,
            consent_type=saved.consent_type,
            principal_id=saved.principal_id,
            resource_id=saved.resource_id,
            scope=saved.scope,
        )
    )
    assert created is not None and created.id == saved.id
    restored = await graph.oauth2_permission_grants.by_o_auth2_permission_grant_id(saved.id).get()
    assert restored is not None and restored.scope == saved.scope


def _block_policy(location_id: str, state: ConditionalAccessPolicyState) -> ConditionalAccessPolicy:
    return ConditionalAccessPolicy(
        display_name="Riposte: block sign-ins from attacker ranges",
        state=state,
        conditions=ConditionalAccessConditionSet(
            users=ConditionalAccessUsers(include_users=["All"], exclude_users=["breakglass"]),
            applications=ConditionalAccessApplications(include_applications=["All"]),
            locations=ConditionalAccessLocations(include_locations=[location_id]),
        ),
        grant_controls=ConditionalAccessGrantControls(operator="OR", built_in_controls=[]),
    )


async def test_named_location_and_policy_create_patch_and_list(
    graph: GraphServiceClient, emulator_seam: EmulatorSeam
) -> None:
    """An ipNamedLocation is created, found by list, PATCHed to a new range set; a policy that
    uses it is created report-only and PATCHed to enabled; the seam shows both by name."""
    state = emulator_seam.state()
    assert state["named_locations"] == {} and state["conditional_access_policies"] == {}
    locations = graph.identity.conditional_access.named_locations
    created = await locations.post(
        IpNamedLocation(
            display_name=BLOCKED,
            is_trusted=False,
            ip_ranges=[IPv4CidrRange(cidr_address="198.51.100.7/32")],
        )
    )
    assert isinstance(created, IpNamedLocation) and created.id is not None
    listed = await locations.get()
    assert listed is not None and [n.display_name for n in listed.value or []] == [BLOCKED]
    ranges = [IPv4CidrRange(cidr_address=c) for c in ("198.51.100.7/32", "203.0.113.9/32")]
    await locations.by_named_location_id(created.id).patch(IpNamedLocation(ip_ranges=ranges))
    fetched = await locations.by_named_location_id(created.id).get()
    assert isinstance(fetched, IpNamedLocation)
    assert [r.cidr_address for r in fetched.ip_ranges or [] if isinstance(r, IPv4CidrRange)] == [
        "198.51.100.7/32",
        "203.0.113.9/32",
    ]
    policies = graph.identity.conditional_access.policies
    report_only = ConditionalAccessPolicyState.EnabledForReportingButNotEnforced
    policy = await policies.post(_block_policy(created.id, report_only))
    assert policy is not None and policy.id is not None and policy.state == report_only
    patch = ConditionalAccessPolicy(state=ConditionalAccessPolicyState.Enabled)
    await policies.by_conditional_access_policy_id(policy.id).patch(patch)
    state = emulator_seam.state()
    assert state["named_locations"][BLOCKED]["ipRanges"] == ["198.51.100.7/32", "203.0.113.9/32"]
    shown = state["conditional_access_policies"]["Riposte: block sign-ins from attacker ranges"]
    assert shown["state"] == "enabled"


async def test_named_location_refuses_ranges_wider_than_slash_8(graph: GraphServiceClient) -> None:
    """Graph refuses an IPv4 range shorter than /8 with a 400."""
    with pytest.raises(ODataError) as refused:
        await graph.identity.conditional_access.named_locations.post(
            IpNamedLocation(
                display_name="wide", ip_ranges=[IPv4CidrRange(cidr_address="10.0.0.0/7")]
            )
        )
    assert refused.value.response_status_code == 400


async def test_global_administrators_by_template_and_by_role_assignments(
    graph: GraphServiceClient,
) -> None:
    """Global Administrator is found by its template id; its members are breakglass@ and one
    ordinary-looking account; roleAssignments answer the same per principal."""
    role = await graph.directory_roles_with_role_template_id(GLOBAL_ADMIN).get()
    assert role is not None and role.display_name == "Global Administrator" and role.id
    members = await graph.directory_roles.by_directory_role_id(role.id).members.get()
    assert members is not None and members.value is not None
    upns = sorted(getattr(m, "user_principal_name", "") for m in members.value)
    assert upns == ["breakglass@contoso.com", "quinn@contoso.com"]
    quinn = await _user_id(graph, "quinn@contoso.com")
    assignments = await graph.role_management.directory.role_assignments.get(
        RequestConfiguration(
            query_parameters=RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
                filter=f"principalId eq '{quinn}' and roleDefinitionId eq '{GLOBAL_ADMIN}'"
            )
        )
    )
    assert assignments is not None and [a.principal_id for a in assignments.value or []] == [quinn]
    ben = await _user_id(graph, "ben@contoso.com")
    none = await graph.role_management.directory.role_assignments.get(
        RequestConfiguration(
            query_parameters=RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
                filter=f"principalId eq '{ben}'"
            )
        )
    )
    assert none is not None and none.value == []
