"""Starting and stopping docker children: each in its own process group, started with SIGINT and
SIGTERM held so that an interrupt cannot orphan it, stopped gently first."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from buildxpy import redact
from buildxpy.errors import CommandTimeout, DockerNotFound

INSTALL_HINT = (
    "docker CLI not found on PATH; install Docker Engine and the buildx plugin "
    "(Debian: apt-get install docker.io docker-cli docker-buildx)"
)
# How long a docker child gets to cancel after SIGINT, then after SIGTERM, before SIGKILL.
STOP_GRACE = (10.0, 5.0)
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def command(program: str) -> Any:
    import sh

    try:
        return sh.Command(program)
    except sh.CommandNotFound:
        raise DockerNotFound(INSTALL_HINT) from None


def hold_stop_signals() -> Any:
    """Hold SIGINT/SIGTERM in this thread until the child is registered (an interrupt between
    fork and registration would orphan it); returns the mask to restore."""
    return signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def restore(mask: Any) -> None:
    # A signal held during the start surfaces here, where it stops the child.
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def open_stop_signals() -> None:
    """The child's own start: it takes SIGINT and SIGTERM again."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def stop(proc: Any) -> None:
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


class Deadline:
    """Stops the child when ``timeout`` seconds have passed (None: never)."""

    def __init__(self, proc: Any, timeout: float | None) -> None:
        self.timeout = timeout
        self.expired = False
        self._timer: threading.Timer | None = None
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._expire, args=(proc,))
            self._timer.daemon = True
            self._timer.start()

    def _expire(self, proc: Any) -> None:
        self.expired = True
        stop(proc)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def check(self, argv: list[str]) -> None:
        """Raise ``CommandTimeout`` if the child was stopped for taking too long."""
        if self.expired:
            raise CommandTimeout(
                redact.argv(argv),
                -1,
                message=f"`{' '.join(argv[:3])}` timed out after {self.timeout}s",
            )
