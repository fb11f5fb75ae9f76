"""structlog set-up: readable lines on a terminal, JSON lines otherwise; always on stderr."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from buildxpy import redact

LogFormat = Literal["auto", "console", "json"]


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


def configure(fmt: LogFormat = "auto", verbosity: int = 0) -> None:
    """verbosity: -1 quiet (warnings and errors), 0 normal, 1+ debug."""
    stream = sys.stderr
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
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
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # sh logs every command, unredacted, on its own logger.
    logging.getLogger("sh").setLevel(logging.WARNING)


def get() -> Any:
    return structlog.get_logger("buildxpy")
