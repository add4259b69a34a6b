"""A SIGALRM deadline for tests whose bug would be a loop that never ends."""

from __future__ import annotations

import signal
from contextlib import contextmanager


@contextmanager
def deadline(seconds: int, what: str = "a loop"):
    """Fail with TimeoutError after ``seconds`` instead of hanging; ``what`` names the code under test."""
    def boom(*_):
        raise TimeoutError(f"{what} did not terminate")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
