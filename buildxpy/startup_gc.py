"""Garbage collection paused through start-up, resumed once docker runs.

Start-up (imports, pydantic's schemas, the settings) allocates hundreds of thousands of objects
that live for the whole run, and almost no cycles: collecting while they are made rescans them
again and again (over 20 M instructions before a build's docker command starts). The console
entry point pauses collection (``pause``); it resumes, with what exists by then frozen out of
every later collection, when the first docker command has started or the command ends
(``resume``), whichever comes first. Python API callers are never paused.
"""

from __future__ import annotations

import gc


class _State:
    paused = False


def pause() -> None:
    if gc.isenabled():
        gc.disable()
        _State.paused = True


def resume() -> None:
    if _State.paused:
        _State.paused = False
        gc.freeze()
        gc.enable()
