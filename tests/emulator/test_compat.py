"""choria_emulator.compat: the Python 3.9 fallbacks behave like dataclass(slots=True) and asyncio.timeout.

The fallbacks are tested on whatever Python runs the tests (the fleet tier runs the package on 3.9
itself); what the package uses on this Python is checked to have slots too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
import sys

import pytest

from choria_emulator.compat import cancel_after, dataclass_with_slots, slotted_dataclass, timeout
from choria_emulator.natsproto.connection import ServerAddress
from choria_emulator.protocol.messages import SecureRequest


@dataclass_with_slots
class Point:
    x: int
    y: int = 2
    tags: list = dataclasses.field(default_factory=list)


@dataclass_with_slots(frozen=True)
class FrozenPoint:
    x: int
    y: int = 0


@dataclass_with_slots
class Point3(Point):
    z: int = 3


def test_fallback_has_slots_and_no_dict():
    point = Point(1)
    assert Point.__slots__ == ("x", "y", "tags")
    assert not hasattr(point, "__dict__")
    assert (point.x, point.y, point.tags) == (1, 2, [])
    with pytest.raises(AttributeError):
        point.other = 1  # type: ignore[attr-defined]


def test_fallback_keeps_dataclass_behaviour():
    assert Point(1) == Point(1, 2, [])
    assert Point(1) != Point(2)
    assert repr(Point(1)) == "Point(x=1, y=2, tags=[])"
    assert [field.name for field in dataclasses.fields(Point)] == ["x", "y", "tags"]
    assert Point.__qualname__ == "Point"


def test_fallback_subclass_adds_only_its_own_slots():
    assert Point3.__slots__ == ("z",)
    assert Point3(1).z == 3
    assert Point3(1, 5).y == 5


def test_fallback_frozen_is_frozen_hashable_and_pickles():
    point = FrozenPoint(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 5  # type: ignore[misc]
    assert hash(point) == hash(FrozenPoint(1, 2))
    assert pickle.loads(pickle.dumps(point)) == point


def test_package_classes_have_slots_on_this_python():
    assert not hasattr(ServerAddress("h", 4222, False, None, None), "__dict__")
    assert "__slots__" in SecureRequest.__dict__
    assert slotted_dataclass is not dataclass_with_slots or sys.version_info < (3, 10)


async def test_cancel_after_raises_asyncio_timeout_error():
    with pytest.raises(asyncio.TimeoutError):
        async with cancel_after(0.05):
            await asyncio.sleep(5)


async def test_cancel_after_lets_a_fast_block_finish_and_does_not_fire_later():
    async with cancel_after(0.2):
        await asyncio.sleep(0)
    await asyncio.sleep(0.3)  # the timer was cancelled: no stray cancellation arrives here


async def test_cancel_after_passes_an_outside_cancellation_through():
    async def body():
        async with cancel_after(5):
            await asyncio.sleep(5)

    task = asyncio.ensure_future(body())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_timeout_of_this_python_raises_what_callers_catch():
    with pytest.raises(asyncio.TimeoutError):
        async with timeout(0.05):
            await asyncio.sleep(5)
