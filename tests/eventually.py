"""One way for tests to wait: `eventually(probe)` polls until the probe answers, within a bound.

    view = await eventually(lambda: fetch(rid), until=lambda v: v["status"] == "completed")
    await eventually(lambda: store.query(f))          # until it returns something truthy

The probe may be sync or async. An exception from it counts as "not yet" when it is one of
`retry_on`; on timeout the AssertionError names `what` and the last value (or error) seen, so a
failure says where it stopped instead of hanging.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], T | Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    within: float = 60.0,
    every: float = 0.1,
    what: str = "the condition",
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """The probe's first value that satisfies `until`; AssertionError after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: object = None
    while True:
        try:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
        except retry_on as err:
            last = err
        else:
            if until(value):  # type: ignore[arg-type]
                return value  # type: ignore[return-value]
            last = value
        if loop.time() >= deadline:
            raise AssertionError(f"{what} never held within {within:g} s; last seen: {last!r}")
        await asyncio.sleep(every)
