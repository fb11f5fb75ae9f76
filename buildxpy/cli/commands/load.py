from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_command,
    add_json_flag,
    make_runner,
    print_json,
)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers,
        common,
        "load",
        LoadArgs,
        run,
        "docker load image tarballs; print the loaded references",
    )
    parser.add_argument("tarballs", nargs="+", metavar="TAR", help="image tarball to load")
    add_json_flag(parser)


@dataclass(frozen=True, kw_only=True, slots=True)
class LoadArgs(JsonArgs):
    tarballs: list[str]


def run(args: LoadArgs) -> int:
    from buildxpy.exports.tarballs import load_tarballs

    results = load_tarballs(args.tarballs, make_runner(args))
    if args.json:
        print_json([r.model_dump(mode="json") for r in results])
    else:
        for result in results:
            for ref in result.refs:
                print(ref)
    return 0
