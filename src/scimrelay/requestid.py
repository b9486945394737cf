"""Request ids: unique across processes and restarts, and cheap to make.

An id is a random 64-bit prefix drawn once per process, and again in a
forked child, followed by a per-process counter: 32 hex digits, the length of
a UUID's hex form, for a fraction of ``uuid4``'s cost.
"""

from __future__ import annotations

import itertools
import os

_state: tuple[str, itertools.count[int]] = ("", itertools.count())


def _reset() -> None:
    global _state
    _state = (os.urandom(8).hex(), itertools.count())


def new_request_id() -> str:
    prefix, counter = _state
    return f"{prefix}{next(counter):016x}"


_reset()
os.register_at_fork(after_in_child=_reset)
