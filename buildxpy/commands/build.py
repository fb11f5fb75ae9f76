from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from buildxpy.commands._common import (
    JsonArgs,
    add_build_flags,
    add_command,
    add_image_flags,
    add_json_flag,
    add_pipeline_flags,
    load_settings,
    make_runner,
    print_json,
)


@dataclass(frozen=True, kw_only=True)
class BuildArgs(JsonArgs):
    pass


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "build", BuildArgs, run,
        "build a multi-platform image with one `docker buildx build` and push it",
    )  # fmt: skip
    add_build_flags(parser)
    add_image_flags(parser)
    group = parser.add_argument_group("output")
    group.add_argument("--builder", dest="builder_name", metavar="NAME",
                       help="builder to build on (default: buildxpy)")  # fmt: skip
    group.add_argument("--push", action=argparse.BooleanOptionalAction, dest="push", default=None,
                       help="push to the registry (default: on; DO_NOT_PUSH turns it off)")  # fmt: skip
    group.add_argument("--load", action="store_true", default=None,
                       help="load the result into the docker image store where the builder can")  # fmt: skip
    group.add_argument("-o", "--output-dir", dest="output_dir", metavar="DIR",
                       help="where build-metadata.json is kept (default: dist)")  # fmt: skip
    add_pipeline_flags(parser)
    add_json_flag(parser)


def run(args: BuildArgs) -> int:
    from buildxpy import ci_outputs
    from buildxpy.build_spec import spec_from_settings
    from buildxpy.image_build import build_image

    settings = load_settings(args)
    result = build_image(spec_from_settings(settings), make_runner(args))
    if args.dry_run:
        return 0
    if result.call_output is not None:
        print(result.call_output, end="")
        return 0
    ci_outputs.publish(
        ci_outputs.build_outputs(result, settings.image),
        ci_outputs.build_summary(result, settings.image),
        dotenv=settings.output_env,
    )
    if args.json:
        print_json(result.model_dump(exclude={"call_output"}))
    elif result.digest:
        print(result.digest)
    return 0
