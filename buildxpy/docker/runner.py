"""The one place buildxpy starts processes. Every docker call goes through a ``Runner``.

Domain modules take a ``Runner`` argument; unit tests hand them a subclass that overrides
``_execute`` (the subprocess seam), so redaction, logging, dry-run and error mapping are exercised
without docker.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import IO, Any, TextIO, TypeVar

from buildxpy import log, redact
from buildxpy.docker import processes
from buildxpy.docker.input_text import check_command
from buildxpy.docker.pumps import Discard, LineFilter, Pump
from buildxpy.errors import CommandFailed, CommandTimeout

TAIL_LINES = 12

T = TypeVar("T")
Reader = Callable[[IO[bytes]], T]

_output_prefix: ContextVar[str | None] = ContextVar("buildxpy_output_prefix", default=None)
_line_filter: ContextVar[LineFilter | None] = ContextVar("buildxpy_line_filter", default=None)


def current_line_filter() -> LineFilter | None:
    """The filter the streamed call now running hands its stderr to (for runners that fake it)."""
    return _line_filter.get()


@contextmanager
def output_prefix(prefix: str | None) -> Iterator[None]:
    """Streamed output of the calls made inside goes out line by line with this prefix, so several
    children running at once (one per thread) stay readable."""
    token = _output_prefix.set(prefix)
    try:
        yield
    finally:
        _output_prefix.reset(token)


@dataclass(frozen=True, slots=True)
class Completed:
    exit_code: int
    stdout: str = ""
    stderr: str = ""
    stderr_tail: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
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
    # Set by callers that render a streamed command's progress themselves: called with each
    # streamed argv, it returns that call's filter (or None to pass the output through).
    line_filters: Callable[[Sequence[str]], LineFilter | None] | None = None

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
        self._while_running: list[Callable[[], None]] = []

    def while_running(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, in this process, as soon as the next docker command has started
        (before waiting for it), or under ``--dry-run`` has been printed: work that can wait costs
        no time while docker runs."""
        with self._lock:
            self._while_running.append(callback)

    def _started(self, proc: Any) -> None:
        """What ``while_running`` queued; a failure among it stops ``proc`` (None: no process)."""
        with self._lock:
            pending, self._while_running = self._while_running, []
        try:
            for callback in pending:
                callback()
        except Exception:
            if proc is not None:
                processes.stop(proc)
            raise

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

    def consume(
        self,
        *args: str,
        reader: Callable[[IO[bytes]], T],
        env: Mapping[str, str] | None = None,
    ) -> T:
        """Run ``docker ARGS`` (read-only) and hand its standard output, a byte stream, to
        ``reader``. When the reader returns before the end, the child is stopped at once and its
        exit code does not count; otherwise a non-zero exit raises ``CommandFailed``."""
        argv = [self.docker, *args]
        shown = redact.argv(argv)
        started = time.monotonic()
        done, value, early = self._pipe(argv, env={**self.env, **(env or {})}, reader=reader)
        log.get().debug("docker", argv=shown, exit_code=done.exit_code,
                        duration_s=_since(started), stopped_early=early)  # fmt: skip
        if not early and done.exit_code != 0:
            raise CommandFailed(shown, done.exit_code, redact.lines(done.stderr_tail))
        return value

    def _pipe(
        self, argv: list[str], *, env: Mapping[str, str], reader: Callable[[IO[bytes]], T]
    ) -> tuple[Completed, T, bool]:
        """The subprocess seam of ``consume``: (how it ended, what the reader returned, whether
        it was stopped before the end)."""
        import sh

        tail: deque[str] = deque(maxlen=TAIL_LINES)
        errors = Pump(Discard(), tail, None)
        read_fd, write_fd = os.pipe()
        options = _sh_options(env) | {"_out": write_fd, "_err": errors.write_fd}
        del options["_decode_errors"], options["_truncate_exc"]

        def undo() -> None:
            os.close(read_fd)
            os.close(write_fd)
            errors.finish()

        proc, held = self._spawn(argv, options, undo)
        early = False
        try:
            os.close(write_fd)  # the child holds its own copy: EOF comes when it is done
            errors.start()
            processes.restore(held)
            with os.fdopen(read_fd, "rb") as stream:
                value = reader(stream)
                early = bool(stream.read(1))
                if early:
                    processes.stop(proc)
            try:
                proc.wait()
            except sh.ErrorReturnCode as exc:  # killed by a signal
                return Completed(exc.exit_code, stderr_tail=list(tail)), value, early
        except BaseException:
            processes.stop(proc)
            raise
        finally:
            self._forget(proc)
            errors.finish()
        return Completed(proc.exit_code, stderr_tail=list(tail)), value, early

    def _spawn(
        self, argv: list[str], options: dict[str, Any], undo: Callable[[], None]
    ) -> tuple[Any, Any]:
        """The started child, registered for ``interrupt_all``, and the signal mask to restore
        once the caller is ready for an interrupt; ``undo`` cleans up when the start fails."""
        command = processes.command(argv[0])
        held = processes.hold_stop_signals()
        try:
            proc = command(*argv[1:], _preexec_fn=processes.open_stop_signals, **options)
            with self._lock:
                self._active[id(proc)] = proc
        except BaseException:
            processes.restore(held)
            undo()
            raise
        return proc, held

    def _forget(self, proc: Any) -> None:
        with self._lock:
            self._active.pop(id(proc), None)

    def interrupt_all(self) -> None:
        """Stop every docker child still running (for callers that run several in threads)."""
        with self._lock:
            procs = list(self._active.values())
        for proc in procs:
            processes.stop(proc)

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
        merged_env = {**self.env, **(env or {})}
        check_command(argv, merged_env, input_)
        shown = redact.argv(argv)
        if mutating and self.dry_run:
            print(shlex.join(shown), file=self._echo or sys.stdout, flush=True)
            # A printed command stands for a started one: what waits for it is not left queued.
            self._started(None)
            return Result(argv=argv, exit_code=0, stdout="", stderr="", duration=0.0, dry_run=True)
        started = time.monotonic()
        line_filter = self.line_filters(argv) if stream and self.line_filters else None
        token = _line_filter.set(line_filter)
        try:
            done = self._execute(
                argv, input_=input_, env=merged_env, timeout=timeout, stream=stream
            )
        except CommandTimeout:
            log.get().warning("docker", argv=shown, timeout_s=timeout, duration_s=_since(started))
            raise
        finally:
            _line_filter.reset(token)
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

        tail: deque[str] = deque(maxlen=TAIL_LINES)
        options = _sh_options(env)
        if input_ is not None:
            options["_in"] = input_
        pumps = _stream_to_user(options, tail) if stream else []

        def undo() -> None:
            for pump in pumps:
                pump.finish()

        proc, held = self._spawn(argv, options, undo)
        # Not sh's timed wait: it polls every 0.1 s and may return before the last of the
        # output is read.
        deadline = processes.Deadline(proc, timeout)
        try:
            for pump in pumps:
                pump.start()
            processes.restore(held)
            log.warm_up()
            self._started(proc)
            proc.wait()
        except sh.ErrorReturnCode as exc:  # killed by a signal
            deadline.check(argv)
            return Completed(exc.exit_code, _decode(exc.stdout), _decode(exc.stderr), list(tail))
        except KeyboardInterrupt:
            processes.stop(proc)
            raise
        finally:
            deadline.cancel()
            self._forget(proc)
            undo()
        deadline.check(argv)
        if stream:
            return Completed(proc.exit_code, "", "", list(tail))
        return Completed(proc.exit_code, _decode(proc.stdout), _decode(proc.stderr))


def _sh_options(env: Mapping[str, str]) -> dict[str, Any]:
    """How sh runs every docker child: in the background in its own process group, any exit code
    returned rather than raised, output not taken for a terminal."""
    return {
        "_bg": True,
        "_bg_exc": False,
        "_new_group": True,
        "_env": {**os.environ, **env},
        "_tty_out": False,
        "_decode_errors": "replace",
        "_ok_code": list(range(256)),
        "_truncate_exc": False,
    }


def _stream_to_user(options: dict[str, Any], tail: deque[str]) -> list[Pump]:
    """Point a streamed child's output at the user; the pumps to start once it runs (none when
    it writes straight to the terminal)."""
    prefix = _output_prefix.get()
    line_filter = _line_filter.get()
    if prefix is None and line_filter is None and _is_tty(sys.stderr):
        # Straight to the terminal: buildx sees a TTY and draws its own progress display.
        # (sh refuses `_tty_out` together with an `_out` that is a TTY already.)
        del options["_tty_out"]
        options["_out"] = options["_err"] = sys.stderr
        return []
    # Our own pipes and reader threads rather than sh callbacks: sh polls those every 0.1 s,
    # which adds that much to every command.
    pumps = [Pump(sys.stderr, None, prefix), Pump(sys.stderr, tail, prefix, line_filter)]
    options["_out"], options["_err"] = (pump.write_fd for pump in pumps)
    return pumps


def create(*, dry_run: bool = False) -> Runner:
    """The runner the CLI uses; tests swap ``factory`` for a fake."""
    return factory(dry_run=dry_run)


factory: Callable[..., Runner] = Runner


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
