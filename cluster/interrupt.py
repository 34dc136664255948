"""Ctrl-C while a run waits: a flag the driver's loop reads, not an exception inside Ray.

Why not KeyboardInterrupt: raised by Python's default handler, it can land inside Ray's
C++ wait (surfacing as a SystemError "returned a result with an exception set") or between
a record's write and its acknowledgement. A flag lets the loop stop at its next turn
(<= 0.5 s), stop the subagents and finish the archive as `interrupted`. A second Ctrl-C
raises KeyboardInterrupt as usual, for a user who will not wait.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def ctrl_c_sets_flag() -> Iterator[threading.Event]:
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signals reach the main thread only; KeyboardInterrupt still applies there
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
