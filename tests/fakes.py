"""The fake at the subprocess seam: a Runner whose ``_execute`` answers from a script."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TypeVar

from buildxpy.docker.runner import Completed, Runner

T = TypeVar("T")


@dataclass
class Call:
    argv: list[str]
    input: str | None
    env: dict[str, str]
    stream: bool
    timeout: float | None

    @property
    def args(self) -> list[str]:
        """argv without the leading ``docker``."""
        return self.argv[1:]


@dataclass
class Rule:
    prefix: tuple[str, ...]
    answer: Completed | Callable[[Call], Completed]
    times: int | None = None
    used: int = field(default=0)


class FakeRunner(Runner):
    """Records every docker call; answers the first matching rule (by argument prefix), newest
    rules first; unmatched calls succeed with no output."""

    def __init__(self, *, dry_run: bool = False, env: Mapping[str, str] | None = None) -> None:
        super().__init__(dry_run=dry_run, env=env)
        self.calls: list[Call] = []
        self.rules: list[Rule] = []

    def on(
        self,
        *prefix: str,
        stdout: str = "",
        stderr: str = "",
        exit_code: int = 0,
        times: int | None = None,
        answer: Callable[[Call], Completed] | None = None,
    ) -> FakeRunner:
        done = answer or Completed(exit_code=exit_code, stdout=stdout, stderr=stderr)
        self.rules.insert(0, Rule(tuple(prefix), done, times))
        return self

    def _execute(
        self,
        argv: list[str],
        *,
        input_: str | None,
        env: Mapping[str, str],
        timeout: float | None,
        stream: bool,
    ) -> Completed:
        call = Call(list(argv), input_, dict(env), stream, timeout)
        self.calls.append(call)
        self._started(None)
        for rule in self.rules:
            if tuple(call.args[: len(rule.prefix)]) == rule.prefix and (
                rule.times is None or rule.used < rule.times
            ):
                rule.used += 1
                return rule.answer(call) if callable(rule.answer) else rule.answer
        return Completed(exit_code=0)

    def _pipe(
        self, argv: list[str], *, env: Mapping[str, str], reader: Callable[[IO[bytes]], T]
    ) -> tuple[Completed, T, bool]:
        """``consume``: the matching rule's stdout, as latin-1 bytes, is the stream."""
        done = self._execute(argv, input_=None, env=env, timeout=None, stream=False)
        stream = io.BytesIO(done.stdout.encode("latin-1"))
        value = reader(stream)
        tail = list(done.stderr_tail) or [line for line in done.stderr.splitlines() if line.strip()]
        return Completed(done.exit_code, stderr_tail=tail), value, bool(stream.read(1))

    def args_list(self) -> list[list[str]]:
        return [c.args for c in self.calls]

    def find(self, *prefix: str) -> list[Call]:
        return [c for c in self.calls if tuple(c.args[: len(prefix)]) == prefix]


def lines(*items: str) -> str:
    return "\n".join(items) + "\n"


def joined(calls: Sequence[Call]) -> list[str]:
    return [" ".join(c.args) for c in calls]
