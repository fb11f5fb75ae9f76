"""Logging on stderr with structlog: readable lines on a terminal, JSON lines otherwise.

structlog is imported on the first message that passes the level, or in the background while a
docker command runs (``warm_up``), so that it never delays the start of that command.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import MutableMapping
from typing import Any, Literal

from buildxpy import redact

LogFormat = Literal["auto", "console", "json"]
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}  # fmt: skip
# Held while a whole line goes to stderr, by the log and by docker's streamed output alike.
WRITE_LOCK = threading.Lock()


class _State:
    fmt: LogFormat = "auto"
    level = logging.INFO
    ready = False
    lock = threading.Lock()


def configure(fmt: LogFormat = "auto", verbosity: int = 0, *, lazy: bool = True) -> None:
    """verbosity: -1 quiet (warnings and errors), 0 normal, 1+ debug."""
    with _State.lock:
        _State.fmt = fmt
        _State.level = (
            logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
        )
        _State.ready = False
    # sh logs every command, unredacted, on its own logger.
    logging.getLogger("sh").setLevel(logging.WARNING)
    if not lazy:
        _materialize()


def warm_up() -> None:
    """Get structlog ready in the background (call while waiting on a child process)."""
    if not _State.ready:
        threading.Thread(target=_materialize, name="buildxpy-log-warm-up", daemon=True).start()


def get() -> _Logger:
    return _LOGGER


class _Logger:
    """Filters by level before anything is imported; hands the rest to structlog."""

    def _emit(self, level: str, event: str, **fields: Any) -> None:
        if _LEVELS[level] < _State.level:
            return
        _materialize()
        import structlog

        getattr(structlog.get_logger("buildxpy"), level)(event, **fields)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit("error", event, **fields)


_LOGGER = _Logger()


def _materialize() -> None:
    with _State.lock:
        if _State.ready:
            return
        _configure_structlog(_State.fmt, _State.level)
        _State.ready = True


def _configure_structlog(fmt: LogFormat, level: int) -> None:
    import structlog

    stream = sys.stderr
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_event,
    ]
    if fmt == "console":
        processors.append(
            structlog.dev.ConsoleRenderer(colors=_wants_colour(stream), sort_keys=False)
        )
    else:
        processors += [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_: _LineWriter(stream),
        cache_logger_on_first_use=False,
    )


class _LineWriter:
    """Writes each log line whole under ``WRITE_LOCK``, which docker's streamed output takes too:
    threads that log while builds stream never split each other's lines."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        with WRITE_LOCK:
            self._stream.write(message + "\n")
            self._stream.flush()

    debug = info = warning = warn = error = critical = exception = msg


def _redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact.text(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            event[key] = redact.lines(value)
    return event


def _wants_colour(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())
