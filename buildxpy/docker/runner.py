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
from typing import IO, Any, Protocol, TextIO, TypeVar

from buildxpy import log, redact
from buildxpy.docker.input_text import check_command
from buildxpy.errors import CommandFailed, CommandTimeout, DockerNotFound

INSTALL_HINT = (
    "docker CLI not found on PATH; install Docker Engine and the buildx plugin "
    "(Debian: apt-get install docker.io docker-cli docker-buildx)"
)
TAIL_LINES = 12
# How long a docker child gets to cancel after SIGINT, then after SIGTERM, before SIGKILL.
STOP_GRACE = (10.0, 5.0)

T = TypeVar("T")
Reader = Callable[[IO[bytes]], T]

_output_prefix: ContextVar[str | None] = ContextVar("buildxpy_output_prefix", default=None)


class LineFilter(Protocol):
    """Turns what a streamed child writes on stderr into what the user sees (a progress renderer):
    each line in, the text to show out (None or "" for nothing)."""

    def feed(self, line: str) -> str | None: ...

    def close(self) -> str | None: ...


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
                _stop(proc)
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

        try:
            command = sh.Command(argv[0])
        except sh.CommandNotFound:
            raise DockerNotFound(INSTALL_HINT) from None
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        errors = _Pump(_Discard(), tail, None)
        read_fd, write_fd = os.pipe()
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            proc = command(
                *argv[1:], _bg=True, _bg_exc=False, _new_group=True, _env={**os.environ, **env},
                _tty_out=False, _ok_code=list(range(256)), _out=write_fd, _err=errors.write_fd,
                _preexec_fn=_open_stop_signals,
            )  # fmt: skip
            with self._lock:
                self._active[id(proc)] = proc
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(read_fd)
            os.close(write_fd)
            errors.finish()
            raise
        early = False
        try:
            os.close(write_fd)  # the child holds its own copy: EOF comes when it is done
            errors.start()
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            with os.fdopen(read_fd, "rb") as stream:
                value = reader(stream)
                early = bool(stream.read(1))
                if early:
                    _stop(proc)
            try:
                proc.wait()
            except sh.ErrorReturnCode as exc:  # killed by a signal
                return Completed(exc.exit_code, stderr_tail=list(tail)), value, early
        except BaseException:
            _stop(proc)
            raise
        finally:
            with self._lock:
                self._active.pop(id(proc), None)
            errors.finish()
        return Completed(proc.exit_code, stderr_tail=list(tail)), value, early

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
        pumps: list[_Pump] = []
        if stream:
            prefix = _output_prefix.get()
            line_filter = _line_filter.get()
            if prefix is None and line_filter is None and _is_tty(sys.stderr):
                # Straight to the terminal: buildx sees a TTY and draws its own progress display.
                # (sh refuses `_tty_out` together with an `_out` that is a TTY already.)
                del kwargs["_tty_out"]
                kwargs["_out"] = sys.stderr
                kwargs["_err"] = sys.stderr
            else:
                # Our own pipes and reader threads rather than sh callbacks: sh polls those every
                # 0.1 s, which adds that much to every command.
                pumps = [
                    _Pump(sys.stderr, None, prefix),
                    _Pump(sys.stderr, tail, prefix, line_filter),
                ]
                kwargs["_out"], kwargs["_err"] = (pump.write_fd for pump in pumps)
        # An interrupt that lands between fork and the try below would orphan the child: hold
        # SIGINT/SIGTERM until the child is registered (the child itself starts with them open).
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            proc = command(*argv[1:], _preexec_fn=_open_stop_signals, **kwargs)
            with self._lock:
                self._active[id(proc)] = proc
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            for pump in pumps:
                pump.finish()
            raise
        try:
            for pump in pumps:
                pump.start()
            # A signal held during the start surfaces here, where it stops the child.
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            log.warm_up()
            self._started(proc)
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
            for pump in pumps:
                pump.finish()
        if stream:
            return Completed(proc.exit_code, "", "", list(tail))
        return Completed(proc.exit_code, _decode(proc.stdout), _decode(proc.stderr))


class _Pump(threading.Thread):
    """Copies what a child writes into a pipe through to a stream, redacted and prefixed, and
    remembers the last lines."""

    def __init__(
        self,
        target: TextIO | _Discard,
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
        for line in text.splitlines(keepends=True):
            self.target.write(self.prefix + redact.text(line))
            if self.tail is not None and line.strip():
                self.tail.append(line.rstrip("\r\n"))
        self.target.flush()

    def finish(self) -> None:
        if self.is_alive() or self.ident is not None:
            # A grandchild that outlives docker may hold the pipe open: do not wait for it.
            self.join(timeout=2)
        else:
            os.close(self.write_fd)
            os.close(self._read_fd)


class _Discard:
    """A text stream that keeps nothing (the pump's tail keeps the last lines)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def create(*, dry_run: bool = False) -> Runner:
    """The runner the CLI uses; tests swap ``factory`` for a fake."""
    return factory(dry_run=dry_run)


factory: Callable[..., Runner] = Runner


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _open_stop_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


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
