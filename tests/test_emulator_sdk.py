"""The real azure-identity, msgraph-sdk and azure-mgmt-network clients against the emulator.

Only the endpoint URLs and the CA bundle differ from production; these tests pin down that the
emulator speaks each SDK's wire format closely enough for unchanged code paths.
"""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.network.aio import NetworkManagementClient
from azure.mgmt.network.models import SecurityRule, SecurityRulePropertiesFormat
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.default_query_parameters import QueryParameters
from msgraph.generated.models.message_rule import MessageRule
from msgraph.generated.models.message_rule_actions import MessageRuleActions
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User
from msgraph.generated.users.item.messages.item.move.move_post_request_body import (
    MovePostRequestBody,
)
from msgraph.generated.users.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from riposte.settings import TenantSettings
from tenant_emulator.client import EmulatorSeam

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PHISH = "<AM6PR01MB1234@contoso.com>"


def test_client_secret_credential_gets_token(
    tenant: TenantSettings, emulator_seam: EmulatorSeam
) -> None:
    """The real ClientSecretCredential obtains its token from the emulator's login endpoints."""
    assert tenant.client_secret is not None
    credential = ClientSecretCredential(
        tenant.tenant_id,
        tenant.client_id,
        tenant.client_secret.get_secret_value(),
        authority=tenant.authority_host,
        disable_instance_discovery=True,
        connection_verify=str(tenant.ca_bundle),
    )
    with credential:
        token = credential.get_token(GRAPH_SCOPE)
    assert len(token.token) > 20
    calls = emulator_seam.calls()
    assert calls["POST /{tenant}/oauth2/v2.0/token"] == 1
    assert calls["GET /{tenant}/v2.0/.well-known/openid-configuration"] == 1


async def test_graph_reads_user_with_selected_properties(graph: GraphServiceClient) -> None:
    """msgraph-sdk reads a user by UPN, and accountEnabled comes back when selected."""
    config = RequestConfiguration(
        query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "displayName", "accountEnabled"]
        )
    )
    user = await graph.users.by_user_id("adele@contoso.com").get(request_configuration=config)
    assert user is not None
    assert (user.display_name, user.account_enabled) == ("Adele Vance", True)


async def test_graph_patch_disables_sign_in(
    graph: GraphServiceClient, emulator_seam: EmulatorSeam
) -> None:
    """A PATCH of accountEnabled=false through msgraph-sdk disables the user in the tenant."""
    await graph.users.by_user_id("ben@contoso.com").patch(User(account_enabled=False))
    assert emulator_seam.state()["users"]["ben@contoso.com"]["accountEnabled"] is False
    assert emulator_seam.call_count("PATCH /v1.0/users/{id}") == 1


async def test_graph_unknown_user_is_odata_404(graph: GraphServiceClient) -> None:
    """An unknown user surfaces as the SDK's ODataError with Graph's code and status."""
    with pytest.raises(ODataError) as caught:
        await graph.users.by_user_id("nobody@contoso.com").get()
    assert caught.value.response_status_code == 404
    assert caught.value.error is not None
    assert caught.value.error.code == "Request_ResourceNotFound"


async def test_graph_revoke_sessions(graph: GraphServiceClient) -> None:
    """revokeSignInSessions answers the boolean value msgraph-sdk expects."""
    result = await graph.users.by_user_id("chris@contoso.com").revoke_sign_in_sessions.post()
    assert result is not None
    assert result.value is True


async def test_graph_inbox_rules_round_trip(
    graph: GraphServiceClient, emulator_seam: EmulatorSeam
) -> None:
    """Inbox rules list, delete and re-create through msgraph-sdk with their actions intact."""
    rules_api = (
        graph.users.by_user_id("ben@contoso.com")
        .mail_folders.by_mail_folder_id("inbox")
        .message_rules
    )
    listed = await rules_api.get()
    assert listed is not None and listed.value is not None
    dot = next(r for r in listed.value if r.display_name == ".")
    assert dot.actions is not None and dot.actions.forward_to
    assert dot.actions.forward_to[0].email_address is not None
    external = dot.actions.forward_to[0].email_address.address
    assert dot.id is not None
    await rules_api.by_message_rule_id(dot.id).delete()
    names = [r["displayName"] for r in emulator_seam.state()["inbox_rules"]["ben@contoso.com"]]
    assert "." not in names and len(names) == 4
    created = await rules_api.post(
        MessageRule(
            display_name=".",
            sequence=4,
            is_enabled=True,
            actions=MessageRuleActions(forward_to=dot.actions.forward_to),
        )
    )
    assert created is not None and created.id not in (None, dot.id)
    again = emulator_seam.state()["inbox_rules"]["ben@contoso.com"]
    restored = next(r for r in again if r["displayName"] == ".")
    assert restored["actions"]["forwardTo"][0]["emailAddress"]["address"] == external


async def test_graph_filters_and_moves_with_immutable_ids(
    graph: GraphServiceClient, emulator_seam: EmulatorSeam
) -> None:
    """$filter by internetMessageId finds the phish; a move keeps its immutable id."""
    mailbox = graph.users.by_user_id("adele@contoso.com")
    config = RequestConfiguration(
        query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"internetMessageId eq '{PHISH}'", select=["id", "parentFolderId", "subject"]
        )
    )
    config.headers.add("Prefer", 'IdType="ImmutableId"')
    found = await mailbox.messages.get(request_configuration=config)
    assert found is not None and found.value is not None and len(found.value) == 1
    message = found.value[0]
    assert message.id is not None
    folder_config = RequestConfiguration[QueryParameters]()
    folder_config.headers.add("Prefer", 'IdType="ImmutableId"')
    moved = await mailbox.messages.by_message_id(message.id).move.post(
        MovePostRequestBody(destination_id="junkemail"), request_configuration=folder_config
    )
    assert moved is not None
    assert moved.id == message.id and moved.parent_folder_id != message.parent_folder_id
    placed = [
        m
        for m in emulator_seam.state()["messages"]["adele@contoso.com"]
        if m["internetMessageId"] == PHISH
    ]
    assert [m["folder"] for m in placed] == ["Junk Email"]


async def test_arm_put_and_delete_rule_complete(
    network: NetworkManagementClient, emulator_seam: EmulatorSeam
) -> None:
    """azure-mgmt-network creates and deletes a rule, polling each long-running operation."""
    rule = SecurityRule(
        properties=SecurityRulePropertiesFormat(
            priority=300,
            direction="Inbound",
            access="Deny",
            protocol="*",
            source_address_prefix="10.8.0.25",
            source_port_range="*",
            destination_address_prefix="*",
            destination_port_ranges=["445", "9401"],
        )
    )
    poller = await network.security_rules.begin_create_or_update(
        "rg-core", "nsg-servers", "riposte-block-test", rule
    )
    created = await poller.result()
    assert created.provisioning_state == "Succeeded"
    assert created.destination_port_ranges == ["445", "9401"]
    names = [r["name"] for r in emulator_seam.state()["nsgs"]["nsg-servers"]["security_rules"]]
    assert "riposte-block-test" in names
    delete = await network.security_rules.begin_delete(
        "rg-core", "nsg-servers", "riposte-block-test"
    )
    await delete.result()
    after = [r["name"] for r in emulator_seam.state()["nsgs"]["nsg-servers"]["security_rules"]]
    assert "riposte-block-test" not in after
    calls = emulator_seam.calls()
    assert (
        calls[
            "GET /subscriptions/{sub}/providers/Microsoft.Network/locations/{location}"
            "/operations/{operation}"
        ]
        >= 4
    )


async def test_arm_conflict_is_http_error(network: NetworkManagementClient) -> None:
    """A rule reusing a taken priority and direction fails with ARM's SecurityRuleConflict."""
    rule = SecurityRule(
        properties=SecurityRulePropertiesFormat(
            priority=200,
            direction="Inbound",
            access="Deny",
            protocol="Tcp",
            source_address_prefix="10.8.0.25",
            source_port_range="*",
            destination_address_prefix="*",
            destination_port_range="445",
        )
    )
    with pytest.raises(HttpResponseError) as caught:
        await network.security_rules.begin_create_or_update("rg-core", "nsg-servers", "clash", rule)
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "SecurityRuleConflict"


async def test_arm_get_unknown_nsg_is_not_found(network: NetworkManagementClient) -> None:
    """An NSG that does not exist raises the SDK's ResourceNotFoundError."""
    with pytest.raises(ResourceNotFoundError) as caught:
        await network.network_security_groups.get("rg-core", "nsg-nowhere")
    assert caught.value.error is not None
    assert caught.value.error.code == "ResourceNotFound"


async def test_graph_sdk_retries_injected_429(
    graph: GraphServiceClient, emulator_seam: EmulatorSeam
) -> None:
    """An injected 429 is retried by msgraph-sdk's retry handler after its Retry-After."""
    emulator_seam.add_fault(route="graph.users.patch", status=429, retry_after=1, count=1)
    started = time.monotonic()
    await graph.users.by_user_id("eli@contoso.com").patch(User(account_enabled=False))
    assert time.monotonic() - started >= 1.0
    assert emulator_seam.call_count("PATCH /v1.0/users/{id}") == 2
    assert emulator_seam.state()["users"]["eli@contoso.com"]["accountEnabled"] is False


async def test_arm_sdk_retries_injected_503(
    network: NetworkManagementClient, emulator_seam: EmulatorSeam
) -> None:
    """An injected 503 is retried by azure-core's retry policy, then the read succeeds."""
    emulator_seam.add_fault(route="arm.nsgs.get", status=503, retry_after=0, count=1)
    nsg = await network.network_security_groups.get("rg-core", "nsg-vpn")
    assert nsg.name == "nsg-vpn"
    assert len(nsg.default_security_rules or []) == 6
    key = (
        "GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
        "/networkSecurityGroups/{nsg}"
    )
    assert emulator_seam.call_count(key) == 2
