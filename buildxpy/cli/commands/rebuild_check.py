"""``buildxpy rebuild-check REF``: build the commit behind a pushed image again, on a fresh builder
with no cache, and say per platform whether the manifest is the same; exit 1 naming what differs."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from typing import Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_build_flags,
    add_builder_flags,
    add_command,
    add_json_flag,
    load_settings,
    make_runner,
    print_json,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class RebuildCheckArgs(JsonArgs):
    ref: str = ""


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "rebuild-check", RebuildCheckArgs, run,
        "rebuild the commit behind a pushed image on a fresh builder and compare its manifests",
    )  # fmt: skip
    parser.add_argument("ref", metavar="REF", help="the pushed image, e.g. reg/app:1.2.0")
    add_build_flags(parser)
    parser.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                        help="check only these platforms (default: every one REF has)")  # fmt: skip
    add_builder_flags(parser)
    add_json_flag(parser)


def run(args: RebuildCheckArgs) -> int:
    from buildxpy.builders.fresh import fresh_builder
    from buildxpy.errors import BuildxpyError
    from buildxpy.manifests.registry import parse_reference
    from buildxpy.rebuilds import report
    from buildxpy.rebuilds.check import rebuild_check
    from buildxpy.settings.handoff import spec_from_settings

    repository = parse_reference(args.ref).repository
    settings = load_settings(args, image=repository)
    given = [str(p) for p in settings.platforms] if "platforms" in args.overrides else []
    runner = make_runner(args)
    spec = spec_from_settings(settings)
    with fresh_builder(settings.builder.description(), spec.platforms, runner) as builder:
        result = rebuild_check(args.ref, replace(spec, builder=builder), runner, platforms=given)
    if args.dry_run:
        return 0
    if args.json:
        print_json(report.as_json(result))
    else:
        print("\n".join(report.lines(result)))
    if not result.same:
        raise BuildxpyError(report.failure(result))
    return 0
