"""Keeps secrets out of logs, error messages and printed commands.

Secrets are process-wide facts (a password read from stdin, the value of an environment variable named
by ``--secret env=``), so they are registered once here and every output path redacts through this
module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

MASK = "***"

_secrets: set[str] = set()

# Options whose next argument is a secret value.
_SECRET_OPTIONS = frozenset({"--password", "-p", "--token"})
_SECRET_KEY = re.compile(
    r"(?i)^([A-Z0-9_.-]*(?:PASSWORD|PASSWD|PASSPHRASE|TOKEN|SECRET|API_?KEY|ACCESS_?KEY|CREDENTIAL)"
    r"[A-Z0-9_.-]*)=(.+)$"
)
# The scheme starts where no scheme character comes before it and is short: a long run of scheme
# characters (a 100 kB build argument) is then passed over once, not rescanned from each position.
_URL_USERINFO = re.compile(
    r"(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)(?P<user>[^:/@\s]+):(?P<pw>[^@/\s]+)@"
)
_TOKEN_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(authorization:\s*(?:basic|bearer)\s+)\S+")

# Short values (a one-letter password) would mask unrelated text everywhere; below this length only
# exact argv elements are masked.
_MIN_SUBSTRING = 4


def add_secret(value: str | None) -> None:
    if value:
        _secrets.add(value)
        stripped = value.strip()
        if stripped and stripped != value:
            _secrets.add(stripped)


def add_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        add_secret(value)


def clear_secrets() -> None:
    _secrets.clear()


def text(value: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if len(secret) >= _MIN_SUBSTRING:
            value = value.replace(secret, MASK)
    value = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", value)
    value = _AUTH_HEADER.sub(lambda m: f"{m[1]}{MASK}", value)
    return _TOKEN_SHAPES.sub(MASK, value)


def argv(args: Sequence[str]) -> list[str]:
    out: list[str] = []
    mask_next = False
    for arg in args:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        if arg in _secrets:
            out.append(MASK)
            continue
        if arg in _SECRET_OPTIONS:
            mask_next = True
            out.append(arg)
            continue
        option, eq, _ = arg.partition("=")
        if eq and option in _SECRET_OPTIONS:
            out.append(f"{option}={MASK}")
            continue
        match = _SECRET_KEY.match(arg)
        if match:
            out.append(f"{match[1]}={MASK}")
            continue
        out.append(text(arg))
    return out


def lines(values: Iterable[str]) -> list[str]:
    return [text(v) for v in values]
