"""The action catalogue: one entry per action, and what derives from it."""

from __future__ import annotations

from riposte.actions.catalogue import CATALOGUE, activity_refs
from riposte.actions.descriptor import Target
from riposte.actions.payloads import ActionName
from riposte.actions.permissions import azure_roles, missing_graph
from riposte.alerts import Entities
from riposte.policy.models import ActionSpec


def test_every_action_name_has_exactly_one_entry() -> None:
    """The catalogue is keyed by every ActionName, in the enum's order, and by nothing else."""
    assert list(CATALOGUE) == list(ActionName)
    assert all(entry.name is name for name, entry in CATALOGUE.items())


def test_every_target_is_an_alert_entity() -> None:
    """An entry's target names a field of the alert's entities, so the engine can read it."""
    assert {entry.target.value for entry in CATALOGUE.values()} <= set(Entities.model_fields)
    assert CATALOGUE[ActionName.BLOCK_PORTS].target is Target.IP


def test_activity_names_are_unique_per_effect() -> None:
    """Each activity is named once; two actions may share a revert (unblock), never an act."""
    acts = [entry.act.name for entry in CATALOGUE.values()]
    assert len(acts) == len(set(acts))
    names = [ref.name for ref in activity_refs()]
    assert len(names) == len(set(names))
    assert "unblock" in names


def test_permissions_derive_from_the_entries() -> None:
    """What an action needs is read from its entry: Graph permissions, or an Azure role."""
    reader = ["User.Read.All", "RoleManagement.Read.Directory"]
    missing = missing_graph([ActionName.DISABLE_SIGN_IN], roles=reader)
    assert missing == {"User.EnableDisableAccount.All": ["disable_sign_in"]}
    assert missing_graph([ActionName.DISABLE_SIGN_IN], roles=["User.ReadWrite.All"]) == {
        "RoleManagement.Read.Directory": ["disable_sign_in"]
    }, "the guard inside every user action reads the protected roles' members"
    assert missing_graph([ActionName.BLOCK_OUTBOUND], roles=[]) == {}
    roles = azure_roles([ActionName.BLOCK_OUTBOUND, ActionName.REVOKE_SESSIONS])
    assert [role.role for role in roles] == ["Network Contributor"]


def test_a_snapshot_recorded_with_flat_parameters_still_loads() -> None:
    """Recorded histories hold actions as {name, which, sent_within, ports}; they still load."""
    spec = ActionSpec.model_validate(
        {"name": "block_ports", "which": None, "sent_within": None, "ports": [445, 9401]}
    )
    assert spec.params.model_dump() == {"ports": (445, 9401)}
    again = ActionSpec.model_validate(spec.model_dump(mode="json"))
    assert again == spec
