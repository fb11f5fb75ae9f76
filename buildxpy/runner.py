"""The one place buildxpy starts processes. Every docker call goes through a ``Runner``.

Domain modules take a ``Runner`` argument; unit tests hand them a subclass that overrides
``_execute`` (the subprocess seam), so redaction, logging, dry-run and error mapping are exercised
without docker.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TextIO

from buildxpy import log, redact
from buildxpy.errors import CommandFailed, CommandTimeout, DockerNotFound

INSTALL_HINT = (
    "docker CLI not found on PATH; install Docker Engine and the buildx plugin "
    "(Debian: apt-get install docker.io docker-cli docker-buildx)"
)
TAIL_LINES = 12
# How long a docker child gets to cancel after SIGINT, then after SIGTERM, before SIGKILL.
STOP_GRACE = (10.0, 5.0)

_output_prefix: ContextVar[str | None] = ContextVar("buildxpy_output_prefix", default=None)


@contextmanager
def output_prefix(prefix: str | None) -> Iterator[None]:
    """Streamed output of the calls made inside goes out line by line with this prefix, so several
    children running at once (one per thread) stay readable."""
    token = _output_prefix.set(prefix)
    try:
        yield
    finally:
        _output_prefix.reset(token)


@dataclass(frozen=True)
class Completed:
    exit_code: int
    stdout: str = ""
    stderr: str = ""
    stderr_tail: Sequence[str] = ()


@dataclass(frozen=True)
class Result:
    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    duration: float
    dry_run: bool = False
    stderr_tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Runner:
    def __init__(
        self,
        *,
        docker: str = "docker",
        dry_run: bool = False,
        env: Mapping[str, str] | None = None,
        echo: TextIO | None = None,
    ) -> None:
        self.docker = docker
        self.dry_run = dry_run
        self.env = dict(env or {})
        self._echo = echo
        self._active: dict[int, Any] = {}
        self._lock = threading.Lock()

    def run(
        self,
        *args: str,
        mutating: bool = False,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        """Run ``docker ARGS`` with its output captured."""
        return self._run(list(args), mutating, input, env, timeout, check, stream=False)

    def stream(
        self,
        *args: str,
        mutating: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Result:
        """Run ``docker ARGS`` with its output shown to the user (on stderr), as buildx shows it."""
        return self._run(list(args), mutating, None, env, timeout, check, stream=True)

    def interrupt_all(self) -> None:
        """Stop every docker child still running (for callers that run several in threads)."""
        with self._lock:
            procs = list(self._active.values())
        for proc in procs:
            _stop(proc)

    def _run(
        self,
        args: list[str],
        mutating: bool,
        input_: str | None,
        env: Mapping[str, str] | None,
        timeout: float | None,
        check: bool,
        *,
        stream: bool,
    ) -> Result:
        argv = [self.docker, *args]
        shown = redact.argv(argv)
        if mutating and self.dry_run:
            print(shlex.join(shown), file=self._echo or sys.stdout, flush=True)
            return Result(argv=argv, exit_code=0, stdout="", stderr="", duration=0.0, dry_run=True)
        started = time.monotonic()
        try:
            done = self._execute(
                argv, input_=input_, env={**self.env, **(env or {})}, timeout=timeout, stream=stream
            )
        except CommandTimeout:
            log.get().warning("docker", argv=shown, timeout_s=timeout, duration_s=_since(started))
            raise
        duration = _since(started)
        logger = log.get()
        emit = logger.info if mutating else logger.debug
        emit("docker", argv=shown, exit_code=done.exit_code, duration_s=duration)
        tail = redact.lines(done.stderr_tail or _tail(done.stderr))
        if check and done.exit_code != 0:
            raise CommandFailed(shown, done.exit_code, tail)
        return Result(
            argv=argv,
            exit_code=done.exit_code,
            stdout=done.stdout,
            stderr=done.stderr,
            duration=duration,
            stderr_tail=tail,
        )

    def _execute(
        self,
        argv: list[str],
        *,
        input_: str | None,
        env: Mapping[str, str],
        timeout: float | None,
        stream: bool,
    ) -> Completed:
        import sh

        try:
            command = sh.Command(argv[0])
        except sh.CommandNotFound:
            raise DockerNotFound(INSTALL_HINT) from None
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        kwargs: dict[str, Any] = {
            "_bg": True,
            "_bg_exc": False,
            "_new_group": True,
            "_env": {**os.environ, **env},
            "_tty_out": False,
            "_decode_errors": "replace",
            "_ok_code": list(range(256)),
            "_truncate_exc": False,
        }
        if input_ is not None:
            kwargs["_in"] = input_
        if stream:
            prefix = _output_prefix.get()
            if prefix is None and _is_tty(sys.stderr):
                # Straight to the terminal: buildx sees a TTY and draws its own progress display.
                # (sh refuses `_tty_out` together with an `_out` that is a TTY already.)
                del kwargs["_tty_out"]
                kwargs["_out"] = sys.stderr
                kwargs["_err"] = sys.stderr
            else:
                kwargs["_out"] = _Tee(sys.stderr, None, prefix)
                kwargs["_err"] = _Tee(sys.stderr, tail, prefix)
        proc = command(*argv[1:], **kwargs)
        with self._lock:
            self._active[id(proc)] = proc
        try:
            proc.wait(timeout=timeout)
        except sh.TimeoutException:
            _stop(proc)
            raise CommandTimeout(
                redact.argv(argv), -1, message=f"`{' '.join(argv[:3])}` timed out after {timeout}s"
            ) from None
        except sh.ErrorReturnCode as exc:  # killed by a signal
            return Completed(exc.exit_code, _decode(exc.stdout), _decode(exc.stderr), list(tail))
        except KeyboardInterrupt:
            _stop(proc)
            raise
        finally:
            with self._lock:
                self._active.pop(id(proc), None)
        if stream:
            return Completed(proc.exit_code, "", "", list(tail))
        return Completed(proc.exit_code, _decode(proc.stdout), _decode(proc.stderr))


class _Tee:
    """Writes a child's output through to a stream and remembers the last lines."""

    def __init__(self, target: TextIO, tail: deque[str] | None, prefix: str | None = None) -> None:
        self.target = target
        self.tail = tail
        self.prefix = prefix

    def __call__(self, chunk: str) -> None:
        shown = redact.text(chunk)
        if self.prefix:
            shown = "".join(self.prefix + line for line in shown.splitlines(keepends=True))
        self.target.write(shown)
        self.target.flush()
        if self.tail is not None:
            self.tail.extend(line for line in chunk.splitlines() if line.strip())


def create(*, dry_run: bool = False) -> Runner:
    """The runner the CLI uses; tests swap ``factory`` for a fake."""
    return factory(dry_run=dry_run)


factory: Callable[..., Runner] = Runner


def _stop(proc: Any) -> None:
    """Ask the child's whole process group to cancel, then insist."""
    process = proc.process
    for sig, grace in ((signal.SIGINT, STOP_GRACE[0]), (signal.SIGTERM, STOP_GRACE[1])):
        if not process.is_alive()[0]:
            return
        try:
            process.signal_group(sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        try:
            while time.monotonic() < deadline:
                if not process.is_alive()[0]:
                    return
                time.sleep(0.05)
        except KeyboardInterrupt:
            break
    try:
        process.signal_group(signal.SIGKILL)
    except ProcessLookupError:
        return


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty()) and stream.fileno() >= 0
    except (AttributeError, ValueError, OSError):
        return False


def _tail(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()][-TAIL_LINES:]


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
