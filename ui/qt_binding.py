"""A guard against a Qt binding that drops references to None and True (the kiosk's hard crash).

`Fatal Python error: none_dealloc: deallocating None`, then an abort, was the kiosk dying
on the review screen and at "Close the kiosk" (issue 12). The cause is not an object of
ours: PySide6 6.12.0 returns None from its void methods (`label.setText`, `widget.update`,
every `QPainter` call ...) and True from `Signal.emit()` without taking a reference. That is
correct only on CPython 3.12 and later, where None, True and False are immortal (PEP 683).
On CPython 3.11 (Debian 12's Python, which the kiosk runs on) each such call takes one
reference from None for good, and the interpreter aborts when the count reaches zero. A
countdown ring painting 25 times a second makes about 250 such calls a second, so a kiosk
with 20,000 references to None died about 80 seconds into a review screen, or at the next
teardown after a long session; how long it lasted depended only on how many references the
process happened to hold, hence "intermittent". PySide6 6.11.3 does not have the bug.

Two defences, so it cannot happen by construction:
- `pyproject.toml` excludes PySide6 6.12.0 on CPython < 3.12, so an install never gets it.
- `protect()` runs when `ui` is imported, before any window exists. It measures whether
  the binding drops references; if it does (a stale environment, a distribution's package),
  it makes None, True, False, Ellipsis and NotImplemented immortal, as CPython 3.12 does,
  by adding 2**40 to their reference counts: at 10,000 dropped references a second that
  lasts three years. It logs that it had to, so staff see a binding that should be replaced.
"""

from __future__ import annotations

import ctypes
import logging
import platform
import sys
from dataclasses import dataclass

import PySide6
from PySide6.QtCore import QObject, Signal

from kiosk.logs import get_logger, log_event

# What CPython 3.12 made immortal among the objects a binding returns without a reference.
SINGLETONS: tuple[object, ...] = (None, True, False, Ellipsis, NotImplemented)
RESERVE = 2**40  # references added to each singleton when the binding drops them
PROBE_CALLS = 64
_log = get_logger("ui")


class _Probe(QObject):
    ping = Signal()


@dataclass(frozen=True)
class BindingCheck:
    """What the check found: which singletons the binding drops, and what was done."""

    pyside: str
    python: str
    drops: tuple[str, ...]  # names of singletons that lost references to plain calls
    protected: bool  # their counts were raised so they can never reach zero


def binding_drops_references() -> tuple[str, ...]:
    """Names of the singletons that lose a reference per call in this Qt binding."""
    target = QObject()
    probe = _Probe()
    calls = {"None": (None, lambda: target.setObjectName("probe")),
             "True": (True, probe.ping.emit)}
    dropped = []
    for name, (singleton, call) in calls.items():
        before = sys.getrefcount(singleton)
        for _ in range(PROBE_CALLS):
            call()
        if sys.getrefcount(singleton) <= before - PROBE_CALLS // 2:
            dropped.append(name)
    return tuple(dropped)  # (the probe's own 64 references are covered by the reserve)


def make_immortal(singletons: tuple[object, ...] = SINGLETONS, reserve: int = RESERVE) -> None:
    """Raise each singleton's reference count by `reserve` (CPython 3.11 release builds)."""
    if sys.implementation.name != "cpython" or hasattr(sys, "getobjects"):
        # Only a release CPython keeps the count as the object's first field.
        raise RuntimeError("cannot protect None on this interpreter: replace the Qt binding")
    for singleton in singletons:
        count = ctypes.c_ssize_t.from_address(id(singleton))
        value = count.value
        # getrefcount's argument is one more reference; a few may come and go in between
        # (ctypes' own objects), but a field that is not the count would be far off.
        if abs(value - (sys.getrefcount(singleton) - 1)) > 8:
            raise RuntimeError("unexpected object layout: replace the Qt binding")
        count.value = value + reserve


def protect() -> BindingCheck:
    """Check the binding once; on a binding that drops references, make the singletons
    immortal before anything can use them up."""
    python = platform.python_version()
    if sys.version_info >= (3, 12):
        return BindingCheck(PySide6.__version__, python, (), False)  # immortal already
    drops = binding_drops_references()
    if not drops:
        return BindingCheck(PySide6.__version__, python, (), False)
    try:
        make_immortal()
    except RuntimeError:  # an interpreter we cannot protect: run, and say so to staff
        return BindingCheck(PySide6.__version__, python, drops, False)
    return BindingCheck(PySide6.__version__, python, drops, True)


CHECK = protect()


def staff_note() -> str | None:
    """Log it and return a line for the staff console when the binding had to be guarded
    against (None when it did not): it works, but it should be replaced."""
    if not CHECK.drops:
        return None
    log_event(_log, "ui.qt_binding_drops_references", logging.WARNING,
              version=f"PySide6 {CHECK.pyside} on Python {CHECK.python}",
              count=len(CHECK.drops), status="protected" if CHECK.protected else "unprotected")
    state = "protected" if CHECK.protected else "NOT protected: the kiosk may abort"
    return (f"the installed PySide6 {CHECK.pyside} drops references on Python {CHECK.python} "
            f"({state}; reinstall with make to get a fixed version)")
