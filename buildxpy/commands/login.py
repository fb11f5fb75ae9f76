from __future__ import annotations

import argparse
import sys
from typing import Any

from buildxpy.commands._common import add_command, make_runner


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "login", run,
        "log in to a registry; the password comes from stdin or BUILDXPY_REGISTRY_PASSWORD",
    )  # fmt: skip
    parser.add_argument("registry", metavar="REGISTRY", help="registry host[:port], e.g. ghcr.io")
    parser.add_argument("-u", "--username", required=True, metavar="USER")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from standard input")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from buildxpy.login import login, password_from

    password = password_from(sys.stdin.read() if args.password_stdin else None)
    login(args.registry, args.username, password, make_runner(args))
    return 0
