"""Progress of a corpus run: a live bar on a terminal, JSON lines for logs, silence in pipes.

:class:`RunProgress` is fed one result at a time (``advance``). On a terminal it draws a rich bar with
documents/s, quotes, errors and the ETA; with ``log_json`` it writes one JSON object per
``every_s`` seconds to the stream instead (for cluster logs); otherwise it prints nothing, and the
caller prints its one summary line.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO


class RunProgress:
    def __init__(self, total: int | None = None, *, stream: IO[str] | None = None, log_json: bool = False,
                 every_s: float = 10.0, bar: bool | None = None):
        self.stream = stream or sys.stderr
        self.total = total
        self.log_json = log_json
        self.every_s = every_s
        self.bar = (not log_json and _isatty(self.stream)) if bar is None else bar
        self.docs = self.errors = self.quotes = self.skipped = 0
        self.t0 = time.perf_counter()
        self._last_log = self.t0
        self._progress = None
        self._task = None

    # -- callbacks for run_corpus -------------------------------------------------------------------
    def start(self, info: dict) -> None:
        self.skipped = int(info.get("already_done", 0))
        self.t0 = self._last_log = time.perf_counter()
        if self.bar:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("[bold]stancekit run"), BarColumn(),
                                      TextColumn("{task.completed}/{task.total} docs" if self._todo() else
                                                 "{task.completed} docs"),
                                      TextColumn("{task.fields[rate]:.1f} docs/s"),
                                      TextColumn("{task.fields[quotes]} quotes"),
                                      TextColumn("{task.fields[errors]} errors"),
                                      TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                      console=Console(file=self.stream), transient=False)
            self._progress.start()
            self._task = self._progress.add_task("run", total=self._todo(), rate=0.0, quotes=0, errors=0)

    def advance(self, res) -> None:
        if hasattr(res, "quotes"):
            self.docs += 1
            self.quotes += len(res.quotes)
        else:
            self.errors += 1
        now = time.perf_counter()
        if self._progress is not None:
            self._progress.update(self._task, advance=1, rate=self.rate(now), quotes=self.quotes, errors=self.errors)
        elif self.log_json and now - self._last_log >= self.every_s:
            self._last_log = now
            self.emit(now)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif self.log_json:
            self.emit(time.perf_counter(), final=True)

    # -- numbers ----------------------------------------------------------------------------------
    def _todo(self) -> int | None:
        return None if self.total is None else max(0, self.total - self.skipped)

    def rate(self, now: float | None = None) -> float:
        elapsed = (now or time.perf_counter()) - self.t0
        return (self.docs + self.errors) / elapsed if elapsed > 0 else 0.0

    def snapshot(self, now: float | None = None) -> dict:
        now = now or time.perf_counter()
        done = self.docs + self.errors
        rate = self.rate(now)
        todo = self._todo()
        eta = round((todo - done) / rate, 1) if todo is not None and rate > 0 else None
        return {"event": "progress", "documents": self.docs, "errors": self.errors, "quotes": self.quotes,
                "skipped_done": self.skipped, "total": todo, "docs_per_s": round(rate, 2),
                "elapsed_s": round(now - self.t0, 1), "eta_s": eta}

    def emit(self, now: float | None = None, *, final: bool = False) -> None:
        snap = self.snapshot(now)
        if final:
            snap["event"] = "done"
        self.stream.write(json.dumps(snap) + "\n")
        self.stream.flush()


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
