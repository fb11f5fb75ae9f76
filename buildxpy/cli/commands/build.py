from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_build_flags,
    add_command,
    add_image_flags,
    add_json_flag,
    add_pipeline_flags,
    add_verify_flags,
    load_settings,
    make_runner,
    print_json,
)

if TYPE_CHECKING:
    from buildxpy.builds.reporting import NativeOptions
    from buildxpy.docker.runner import Runner
    from buildxpy.settings.model import Settings


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildArgs(JsonArgs):
    plan: bool = False
    report: bool | None = None
    by_digest: bool = False
    split: bool = False
    require: str | None = None


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
    add_verify_flags(parser, builder=False)
    add_pipeline_flags(parser)
    add_json_flag(parser)
    add_native_flags(parser)


def add_native_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("native builds")
    group.add_argument("--plan", action="store_true",
                       help="print which node builds each platform, native or emulated; build nothing")  # fmt: skip
    group.add_argument("--require-native", action=argparse.BooleanOptionalAction, default=None,
                       help="refuse before building when a platform would be emulated")  # fmt: skip
    group.add_argument("--report", action=argparse.BooleanOptionalAction, default=None,
                       help="emulation-cost report (default: when stderr is not a terminal)")  # fmt: skip
    group.add_argument("--by-digest", action="store_true",
                       help="push the one platform untagged; print its digest, write its record")  # fmt: skip
    group.add_argument("--split", action="store_true",
                       help="one build by digest per platform at once, then merge them")  # fmt: skip
    group.add_argument("--require", metavar="all|P[,P…]",
                       help="with --split: platforms the merge needs (default: all)")  # fmt: skip


def run(args: BuildArgs) -> int:
    from buildxpy.errors import ConfigError

    if args.split and args.by_digest:
        raise ConfigError("--split already builds each platform by digest: give one of them")
    if args.require is not None and not args.split:
        raise ConfigError("--require applies to the merge of --split")
    if not args.plan:
        # The checkout's git queries (for tags and labels) run while the models load and the
        # settings are read.
        from buildxpy.ci.git_queries import prefetch

        prefetch(args.overrides.get("context") or ".", os.environ)
    from buildxpy.builds.native import native_build
    from buildxpy.ci import outputs as ci_outputs
    from buildxpy.settings.handoff import spec_from_settings

    settings = load_settings(args)
    runner = make_runner(args)
    if args.plan:
        return _plan(args, settings, runner)
    result = native_build(spec_from_settings(settings), runner, _options(args, settings))
    if args.dry_run:
        if result.plan is not None and not args.quiet:
            from buildxpy.builders.routing import plan_lines

            print("\n".join(plan_lines(result.plan)), file=sys.stderr)
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
        print_json(result.model_dump(mode="json", exclude={"call_output"}))
    elif result.digest:
        print(result.digest)
    return 0


def _options(args: BuildArgs, settings: Settings) -> NativeOptions:
    from buildxpy.builds.reporting import NativeOptions

    options = NativeOptions(
        require_native=settings.require_native, report=args.report, by_digest=args.by_digest,
        split=args.split,
    )  # fmt: skip
    if not args.split:
        return options
    # Only a split merges: the merge's options load with it.
    from buildxpy.split.options import index_annotations, require_from

    return replace(options, require=require_from(args.require),
                   annotations=index_annotations(settings.declared()["annotations"]))  # fmt: skip


def _plan(args: BuildArgs, settings: Settings, runner: Runner) -> int:
    """``--plan``: where each platform would be built; nothing is built."""
    from buildxpy.builders.routing import plan_lines, refuse_emulated
    from buildxpy.builds.reporting import plan_platforms

    plan = plan_platforms(
        runner, settings.builder.name, settings.platforms, separately=args.split or args.by_digest
    )
    if args.json:
        print_json(plan.model_dump())
    else:
        print("\n".join(plan_lines(plan)))
    if settings.require_native:
        refuse_emulated(plan)
    return 0
