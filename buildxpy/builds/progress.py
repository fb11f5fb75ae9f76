"""buildx's ``--progress rawjson`` stream: read it, keep every step's timing, and show the user plain
progress lines in its place.

buildx writes each BuildKit status update as one JSON object on stderr:
``{"vertexes": [{"digest", "name", "started", "completed", "cached", "error"}], "statuses": […],
"logs": [{"vertex", "data" (base64), "timestamp"}], "warnings": […]}``; 0.13 indents each object
over many lines, current buildx writes one compact object a line. Objects are read from a buffer
whatever their layout (an object split across reads waits for the rest); anything else (buildx's
own ``ERROR: …`` lines) is passed through.
A step that runs more than once (a retried pull) sends ``started`` again; each run is kept.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Shown = Literal["plain", "quiet", "raw"]


@dataclass(slots=True)
class Step:
    """One BuildKit vertex: a Dockerfile instruction, a context transfer, an export."""

    digest: str
    name: str
    number: int
    runs: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    cached: bool = False
    error: str = ""

    @property
    def seconds(self) -> float:
        return sum((end - start).total_seconds() for start, end in self.runs if end is not None)


@dataclass(slots=True)
class StepLog:
    """What one streamed build did, step by step."""

    argv: list[str]
    steps: dict[str, Step] = field(default_factory=dict)

    @property
    def platform(self) -> str | None:
        """The build's only platform (``--platform P`` with one P), else None."""
        if "--platform" in self.argv:
            value = self.argv[self.argv.index("--platform") + 1]
            return value if "," not in value else None
        return None

    def ordered(self) -> list[Step]:
        return sorted(self.steps.values(), key=lambda s: s.number)


class RawJsonRenderer:
    """The line filter for one ``buildx build --progress rawjson``: collects the steps and returns
    the plain text to show (``#N name``, ``#N 1.234 log line``, ``#N DONE 1.2s``)."""

    def __init__(self, log: StepLog, shown: Shown = "plain") -> None:
        self.log = log
        self.shown = shown
        self._pending = ""
        self._announced: set[str] = set()
        self._finished: dict[str, tuple[int, str]] = {}

    def feed(self, line: str) -> str | None:
        if not self._pending and not line.lstrip().startswith("{"):
            return line
        self._pending += line
        shown: list[str] = []
        while self._pending.strip():
            text = self._pending.lstrip()
            if not text.startswith("{"):
                # buildx's own text after an object: passed on a line at a time.
                head, newline, rest = text.partition("\n")
                if not newline:
                    break
                shown.append(head + newline)
                self._pending = rest
                continue
            try:
                update, end = _DECODER.raw_decode(text)
            except json.JSONDecodeError as exc:
                if "\n" not in text[exc.pos :]:
                    break  # the object goes on in a later read (JSON strings hold no newline)
                head, newline, rest = text.partition("\n")
                shown.append(head + (newline or "\n"))
                self._pending = rest
                continue
            self._pending = text[end:]
            shown.append(self._show(update, text[:end]))
        if not self._pending.strip():
            self._pending = ""
        return "".join(shown) or None

    def close(self) -> str | None:
        rest = self._pending
        self._pending = ""
        return rest if rest.strip() else None

    def _show(self, update: Any, raw: str) -> str:
        if not isinstance(update, dict):
            return raw + "\n"
        shown = self._apply(update)
        if self.shown == "raw":
            return raw + "\n"
        return shown if self.shown == "plain" else ""

    def _apply(self, update: dict[str, Any]) -> str:
        out: list[str] = []
        for vertex in _items(update.get("vertexes")):
            out += self._vertex(vertex)
        for entry in _items(update.get("logs")):
            out += self._log(entry)
        return "".join(f"{line}\n" for line in out)

    def _vertex(self, vertex: dict[str, Any]) -> list[str]:
        digest = str(vertex.get("digest", ""))
        if not digest:
            return []
        step = self.log.steps.get(digest)
        if step is None:
            step = Step(digest, str(vertex.get("name", "")), len(self.log.steps) + 1)
            self.log.steps[digest] = step
        step.cached = step.cached or bool(vertex.get("cached"))
        step.error = str(vertex.get("error") or step.error)
        started, completed = _time(vertex.get("started")), _time(vertex.get("completed"))
        if started is not None:
            if step.runs and step.runs[-1][0] == started:
                step.runs[-1] = (started, completed or step.runs[-1][1])
            else:
                step.runs.append((started, completed))
        out = []
        if started is not None and digest not in self._announced:
            self._announced.add(digest)
            out.append(f"#{step.number} {step.name}")
        if completed is not None:
            if step.error:
                outcome = f"ERROR: {step.error}"
            elif step.cached:
                outcome = "CACHED"
            else:
                outcome = f"DONE {_last(step):.1f}s"
            # buildx repeats a finished step in later updates: say each outcome once.
            if self._finished.get(digest) != (len(step.runs), outcome):
                self._finished[digest] = (len(step.runs), outcome)
                out.append(f"#{step.number} {outcome}")
        return out

    def _log(self, entry: dict[str, Any]) -> list[str]:
        step = self.log.steps.get(str(entry.get("vertex", "")))
        try:
            data = base64.b64decode(str(entry.get("data", "")), validate=True)
        except (binascii.Error, ValueError):
            return []
        if step is None:
            return []
        at = _time(entry.get("timestamp"))
        offset = (at - step.runs[-1][0]).total_seconds() if at and step.runs else 0.0
        text = data.decode(errors="replace")
        return [f"#{step.number} {offset:.3f} {line}" for line in text.splitlines() if line.strip()]


_DECODER = json.JSONDecoder()


def _last(step: Step) -> float:
    start, end = step.runs[-1]
    return (end - start).total_seconds() if end else 0.0


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class ProgressCapture:
    """Given to ``Runner.line_filters``: every streamed ``buildx build`` that asks for rawjson gets
    its own renderer, and its steps are kept here (builds may run in several threads at once)."""

    def __init__(self, shown: Shown = "plain") -> None:
        self.shown = shown
        self.logs: list[StepLog] = []
        self._lock = threading.Lock()

    def __call__(self, argv: Sequence[str]) -> RawJsonRenderer | None:
        args = list(argv)
        if args[1:3] != ["buildx", "build"] or not _asks_rawjson(args):
            return None
        log = StepLog(args)
        with self._lock:
            self.logs.append(log)
        return RawJsonRenderer(log, self.shown)


def _asks_rawjson(argv: list[str]) -> bool:
    return any(
        arg == "--progress=rawjson" or (arg == "--progress" and argv[i + 1 : i + 2] == ["rawjson"])
        for i, arg in enumerate(argv)
    )
