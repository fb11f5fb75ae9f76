from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_command,
    add_json_flag,
    add_verify_flags,
    load_settings,
    make_runner,
    print_json,
)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "release", ReleaseArgs, run_release,
        "point IMAGE:VERSION at the index behind IMAGE:FROM, by digest, without rebuilding",
    )  # fmt: skip
    parser.add_argument("version", metavar="VERSION", help="the tag to write, e.g. v1.2.0")
    parser.add_argument("--from", dest="from_tag", default="latest", metavar="TAG",
                        help="the tag whose index is released (default: latest)")  # fmt: skip
    parser.add_argument("--image", help="image repository, e.g. registry.example.com/team/app")
    parser.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                        help="the exact platforms the released index must list (default: the "
                        "configured platforms when configured)")  # fmt: skip
    add_verify_flags(parser)
    add_json_flag(parser)


@dataclass(frozen=True, kw_only=True, slots=True)
class ReleaseArgs(JsonArgs):
    version: str
    from_tag: str = "latest"


def run_release(args: ReleaseArgs) -> int:
    from buildxpy.cli.commands.manifest import expected_platforms
    from buildxpy.manifests import lists as manifest

    settings = load_settings(args)
    result = manifest.release(
        args.version, image=settings.require_image(), from_tag=args.from_tag,
        runner=make_runner(args), verify=settings.verify,
        platforms=expected_platforms(settings), builder=settings.builder.name,
    )  # fmt: skip
    if args.json:
        print_json(result.model_dump())
    elif not result.dry_run:
        print(result.digest)
    return 0
