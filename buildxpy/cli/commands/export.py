from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_build_flags,
    add_command,
    add_image_flags,
    add_json_flag,
    add_pipeline_flags,
    human_size,
    load_settings,
    make_runner,
    print_json,
    print_table,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExportArgs(JsonArgs):
    report: bool | None = None


if TYPE_CHECKING:
    from buildxpy.exports.tarballs import ExportResult


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "export", ExportArgs, run,
        "build one image tarball per platform (type=docker), concurrently; optionally docker load them",
    )  # fmt: skip
    add_image_flags(parser)
    add_build_flags(parser)
    parser.add_argument("--builder", dest="builder_name", metavar="NAME",
                        help="builder to use (default: buildxpy)")  # fmt: skip
    parser.add_argument("-o", "--output-dir", metavar="DIR",
                        help="where the tarballs go (default: dist)")  # fmt: skip
    parser.add_argument("--load", action="store_true", default=None,
                        help="docker load each tarball and check its platform")  # fmt: skip
    add_pipeline_flags(parser)
    add_json_flag(parser)
    parser.add_argument("--report", action=argparse.BooleanOptionalAction, default=None,
                        help="emulation-cost report (default: when stderr is not a terminal)")  # fmt: skip


def run(args: ExportArgs) -> int:
    from buildxpy.builds.native import export_with_report
    from buildxpy.ci import outputs as ci_outputs
    from buildxpy.settings.handoff import spec_from_settings

    settings = load_settings(args)
    spec = spec_from_settings(settings)
    results, _, report = export_with_report(
        spec, make_runner(args), load=spec.load, report=args.report
    )
    if not args.dry_run:
        ci_outputs.publish(
            ci_outputs.export_outputs(results, settings.image),
            ci_outputs.export_summary(results),
            dotenv=settings.output_env,
        )
    if args.json:
        costs = {p.platform: p.model_dump(mode="json") for p in report.platforms} if report else {}
        print_json(
            [{**r.model_dump(mode="json"), "report": costs.get(r.platform)} for r in results]
        )
    elif not args.dry_run:
        # The result, on stdout as every command's is (under --dry-run stdout holds the commands).
        show_table(results)
    return 0


def show_table(results: list[ExportResult]) -> None:
    rows = [
        (
            r.platform,
            r.path,
            human_size(r.bytes),
            ", ".join(r.tags) + (" (loaded)" if r.loaded else ""),
        )
        for r in results
    ]
    print_table(("platform", "path", "size", "tags"), rows)
