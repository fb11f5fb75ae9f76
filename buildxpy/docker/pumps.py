"""What a docker child writes, on its way to the user: pipes read by threads, redacted, prefixed,
handed to a progress renderer, the last lines kept for the error message."""

from __future__ import annotations

import os
import threading
from collections import deque
from typing import Protocol, TextIO

from buildxpy import log, redact


class LineFilter(Protocol):
    """Turns what a streamed child writes on stderr into what the user sees (a progress renderer):
    each line in, the text to show out (None or "" for nothing)."""

    def feed(self, line: str) -> str | None: ...

    def close(self) -> str | None: ...


class Pump(threading.Thread):
    """Copies what a child writes into a pipe through to a stream, redacted and prefixed, and
    remembers the last lines."""

    def __init__(
        self,
        target: TextIO | Discard,
        tail: deque[str] | None,
        prefix: str | None,
        line_filter: LineFilter | None = None,
    ) -> None:
        super().__init__(name="buildxpy-output", daemon=True)
        self.target = target
        self.tail = tail
        self.prefix = prefix or ""
        self.line_filter = line_filter
        self._read_fd, self.write_fd = os.pipe()

    def start(self) -> None:
        # The child has its own copy now; ours must go, or the reader never sees the end.
        os.close(self.write_fd)
        super().start()

    def run(self) -> None:
        with os.fdopen(self._read_fd, encoding="utf-8", errors="replace", newline="") as pipe:
            for line in pipe:
                self._show(self.line_filter.feed(line) if self.line_filter else line)
        if self.line_filter:
            self._show(self.line_filter.close())

    def _show(self, text: str | None) -> None:
        if not text:
            return
        lines = text.splitlines(keepends=True)
        with log.WRITE_LOCK:
            for line in lines:
                self.target.write(self.prefix + redact.text(line))
            self.target.flush()
        if self.tail is not None:
            self.tail.extend(line.rstrip("\r\n") for line in lines if line.strip())

    def finish(self) -> None:
        if self.is_alive() or self.ident is not None:
            # A grandchild that outlives docker may hold the pipe open: do not wait for it.
            self.join(timeout=2)
        else:
            os.close(self.write_fd)
            os.close(self._read_fd)


class Discard:
    """A text stream that keeps nothing (the pump's tail keeps the last lines)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
