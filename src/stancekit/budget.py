"""A time budget for the spaCy stages of one document (``--doc-timeout``).

The budget is a ``SIGALRM`` interval timer armed around a call: when it fires, :class:`DocTimeout` is
raised inside whatever Python code is running (a spaCy component, a regular expression loop in
Python code). spaCy passes that exception to the pipeline's error handler together with the name of
the component that was running, so the error record names the stage. The timer repeats every
``REPEAT_S`` seconds after it first fires, so code that swallows one exception is interrupted again.

Timers only exist in the main thread of a process; elsewhere (a notebook thread, some actor runtimes)
the budget is not enforced and :func:`budget` is a no-op. Code that never returns to the Python
interpreter (a C extension stuck in a loop) cannot be interrupted this way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

REPEAT_S = 0.5


class DocTimeout(Exception):
    """Raised inside the running stage when the document's time budget is spent."""


def can_enforce() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _raise(signum, frame):  # pragma: no cover - timing dependent
    raise DocTimeout()


class Budget:
    """The running timer of :func:`budget`: :meth:`rearm` starts a new allowance from now."""

    def __init__(self, enforced: bool):
        self.enforced = enforced

    def __bool__(self) -> bool:
        return self.enforced

    def rearm(self, seconds: float) -> None:
        if self.enforced and seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_S)


@contextlib.contextmanager
def budget(seconds: float | None) -> Iterator[Budget]:
    """Raise :class:`DocTimeout` in the body once ``seconds`` have passed.

    Yields a :class:`Budget` (true when enforced) whose ``rearm(s)`` gives the body ``s`` seconds
    from now: the batch path re-arms it each time a document comes out of ``nlp.pipe``.
    """
    if not seconds or seconds <= 0 or not can_enforce():
        yield Budget(False)
        return
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_S)
    try:
        yield Budget(True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
