"""`buildxpy merge`: one index from per-platform digest records, tagged with every configured tag."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_command,
    add_image_flags,
    add_json_flag,
    add_verify_flags,
    load_settings,
    make_runner,
    print_json,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class MergeArgs(JsonArgs):
    records: list[str]
    from_dir: Path | None = None
    require: str | None = None
    annotations: list[str] | None = None


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "merge", MergeArgs, run,
        "make the multi-platform index from per-platform digest records (build --by-digest)",
    )  # fmt: skip
    parser.add_argument("records", nargs="*", metavar="RECORD",
                        help="digest record files (default: every record in OUTPUT_DIR/digests)")  # fmt: skip
    parser.add_argument("--from", dest="from_dir", type=Path, metavar="DIR",
                        help="merge every record in DIR")  # fmt: skip
    parser.add_argument("--require", metavar="all|P[,P…]",
                        help="platforms that must be present (default: all configured)")  # fmt: skip
    parser.add_argument("--annotation", action="append", dest="annotations", metavar="K=V",
                        help="index annotation (repeatable)")  # fmt: skip
    add_image_flags(parser)
    parser.add_argument("-o", "--output-dir", dest="output_dir", metavar="DIR",
                        help="whose digests/ directory holds the records (default: dist)")  # fmt: skip
    add_verify_flags(parser)
    add_json_flag(parser)


def run(args: MergeArgs) -> int:
    from buildxpy.errors import ConfigError
    from buildxpy.split.merge import merge
    from buildxpy.split.options import annotations_from, oci_annotations, require_from
    from buildxpy.split.records import records_dir

    settings = load_settings(args)
    if args.records and args.from_dir is not None:
        raise ConfigError("give RECORD files or --from DIR, not both")
    from_dir = None if args.records else args.from_dir or records_dir(settings.output_dir)
    result = merge(
        [Path(r) for r in args.records], from_dir=from_dir, image=settings.image,
        tags=settings.tags, platforms=settings.platforms, require=require_from(args.require),
        annotations={**oci_annotations(settings.labels), **annotations_from(args.annotations)},
        runner=make_runner(args), verify=settings.verify, builder=settings.builder.name,
    )  # fmt: skip
    if args.json:
        print_json(result.model_dump(mode="json"))
    elif result.digest:
        print(result.digest)
    return 0
