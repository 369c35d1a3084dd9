"""Typed references to activities: how workflow code addresses an activity, and how its
implementation is bound to the same name.

    SNAPSHOT = ActivityRef("snapshot_policies", SnapshotRequest, PolicySnapshot)

    class PolicyActivities:
        @SNAPSHOT.defn                       # the Temporal name, checked against the types
        async def snapshot_policies(self, request: SnapshotRequest) -> PolicySnapshot: ...

    await workflow.execute_activity(SNAPSHOT.name, SnapshotRequest(), result_type=SNAPSHOT.result)

mypy checks both ends against one input and result type, so no activity is named by a bare
string in two places that could drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from temporalio import activity

from riposte.model import Frozen

In = TypeVar("In", bound=Frozen)
Out = TypeVar("Out", bound=Frozen)
Owner = TypeVar("Owner")
_REF = "__riposte_activity__"


@dataclass(frozen=True)
class ActivityRef(Generic[In, Out]):
    """One activity's name with its input and result types."""

    name: str
    input: type[In]
    result: type[Out]

    def defn(
        self, fn: Callable[[Owner, In], Awaitable[Out]]
    ) -> Callable[[Owner, In], Awaitable[Out]]:
        """Bind a method to this activity: its Temporal name, checked against the types."""
        setattr(fn, _REF, self)
        defined: Callable[[Owner, In], Awaitable[Out]] = activity.defn(name=self.name)(fn)
        return defined


def ref_of(fn: object) -> ActivityRef[Any, Any] | None:
    """The reference an implementation was bound to with `ActivityRef.defn`, if any."""
    ref = getattr(fn, _REF, None)
    return ref if isinstance(ref, ActivityRef) else None
