"""The few Python 3.10/3.11 features the package uses, also on Python 3.9.

Targets run the emulator with their distribution's Python: 3.9 on Debian 11 and RHEL 9, 3.11 on
Debian 12, 3.13 on Debian 13. Newer Pythons get the standard library's own implementation; 3.9
gets an equivalent built here, so the rest of the package is written once.

* :func:`slotted_dataclass` is ``@dataclass(slots=True, ...)``. Slots matter: tens of thousands of
  emulated instances each hold several of these objects (a slotted instance has no ``__dict__``,
  ~100 bytes less each). On 3.9 the dataclass is rebuilt with ``__slots__`` the way 3.10's
  ``dataclasses._add_slots`` does it.
* :func:`timeout` is ``asyncio.timeout`` (3.11): cancel the enclosed block after ``delay``
  seconds and raise ``asyncio.TimeoutError`` (the builtin ``TimeoutError`` since 3.11). Catch
  ``asyncio.TimeoutError``, which is right on every version.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Callable, TypeVar

T = TypeVar("T")

__all__ = ["slotted_dataclass", "timeout"]


def _dataclass_getstate(self: Any) -> list[Any]:
    return [getattr(self, field.name) for field in dataclasses.fields(self)]


def _dataclass_setstate(self: Any, state: list[Any]) -> None:
    for field, value in zip(dataclasses.fields(self), state):
        object.__setattr__(self, field.name, value)  # also for frozen classes


def _add_slots(cls: type[T], frozen: bool) -> type[T]:
    """``cls`` rebuilt with ``__slots__`` for its own fields (Python 3.10's ``_add_slots``)."""
    inherited: set[str] = set()
    for base in cls.__mro__[1:]:
        slots = base.__dict__.get("__slots__", ())
        inherited.update((slots,) if isinstance(slots, str) else slots)
    names = tuple(field.name for field in dataclasses.fields(cls) if field.name not in inherited)
    namespace = dict(cls.__dict__)
    namespace["__slots__"] = names
    for name in names:
        namespace.pop(name, None)  # the class attribute holding the default would shadow the slot
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    slotted = type(cls)(cls.__name__, cls.__bases__, namespace)
    slotted.__qualname__ = cls.__qualname__
    if frozen:  # pickle cannot restore a frozen slotted instance through __setattr__
        # a class built by type(): the type checker does not know it may take these
        slotted.__getstate__ = _dataclass_getstate  # type: ignore[attr-defined]
        slotted.__setstate__ = _dataclass_setstate  # type: ignore[attr-defined]
    return slotted


def dataclass_with_slots(cls: type[T] | None = None, **options: Any) -> Any:
    """``@dataclass(**options)`` with ``__slots__`` added afterwards: the 3.9 fallback, usable on any version."""

    def wrap(klass: type[T]) -> type[T]:
        return _add_slots(dataclasses.dataclass(klass, **options), bool(options.get("frozen")))

    return wrap if cls is None else wrap(cls)


@asynccontextmanager
async def cancel_after(delay: float | None) -> AsyncIterator[None]:
    """Cancel the current task after ``delay`` seconds and raise ``asyncio.TimeoutError``: the 3.9/3.10 fallback."""
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("timeout() must be used inside a task")
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    handle = asyncio.get_running_loop().call_later(delay, expire) if delay is not None else None
    try:
        yield
    except asyncio.CancelledError:
        if expired:
            raise asyncio.TimeoutError from None
        raise
    finally:
        if handle is not None:
            handle.cancel()


if TYPE_CHECKING:  # type checkers know dataclass; the slots make no difference to them
    from dataclasses import dataclass as slotted_dataclass
elif sys.version_info >= (3, 10):
    slotted_dataclass = functools.partial(dataclasses.dataclass, slots=True)
else:
    slotted_dataclass = dataclass_with_slots

timeout: Callable[[float | None], Any] = asyncio.timeout if sys.version_info >= (3, 11) else cancel_after
