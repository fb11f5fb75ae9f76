from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any

from buildxpy.cli.commands._common import Globals, add_command, make_runner


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "login", LoginArgs, run,
        "log in to a registry; the password is piped in on stdin or comes from "
        "BUILDXPY_REGISTRY_PASSWORD",
    )  # fmt: skip
    parser.add_argument("registry", metavar="REGISTRY", help="registry host[:port], e.g. ghcr.io")
    parser.add_argument("-u", "--username", required=True, metavar="USER")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input")  # fmt: skip


@dataclass(frozen=True, kw_only=True, slots=True)
class LoginArgs(Globals):
    registry: str
    username: str
    password_stdin: bool = False


def run(args: LoginArgs) -> int:
    from buildxpy.manifests.login import login, password_from

    password = password_from(_stdin_text() if _reads_stdin(args) else None)
    login(args.registry, args.username, password, make_runner(args))
    return 0


def _reads_stdin(args: LoginArgs) -> bool:
    """``--password-stdin``, or a password piped in with no BUILDXPY_REGISTRY_PASSWORD set
    (``echo "$TOKEN" | buildxpy login REGISTRY -u USER``); a terminal is never read from, so
    nothing waits for typing that would echo the password."""
    from buildxpy.manifests.login import PASSWORD_ENV

    if args.password_stdin:
        return True
    if os.environ.get(PASSWORD_ENV):
        return False
    return sys.stdin is not None and not sys.stdin.isatty()


def _stdin_text() -> str:
    from buildxpy.errors import ConfigError

    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:
        return sys.stdin.read()
    try:
        return bytes(binary.read()).decode()
    except UnicodeDecodeError:
        raise ConfigError("the password on standard input is not UTF-8 text") from None
