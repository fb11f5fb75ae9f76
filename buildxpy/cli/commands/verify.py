from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_command,
    add_json_flag,
    load_settings,
    make_runner,
    print_json,
    print_table,
)

if TYPE_CHECKING:
    from buildxpy.verification.report import VerifyReport


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "verify", VerifyArgs, run,
        "check that a pushed image is what it claims: its platforms, its configs, and the "
        "architecture of each platform's entrypoint binary, without running it",
    )  # fmt: skip
    parser.add_argument("ref", metavar="REF", help="the image or index, e.g. reg/app:1.0")
    parser.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                        help="the exact platforms expected (default: the configured platforms)")  # fmt: skip
    parser.add_argument("--builder", dest="builder_name", metavar="NAME",
                        help="builder that reads the image's files (default: buildxpy)")  # fmt: skip
    add_json_flag(parser)


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifyArgs(JsonArgs):
    ref: str


def run(args: VerifyArgs) -> int:
    from buildxpy.cli.commands.manifest import expected_platforms
    from buildxpy.verification.check import verify

    settings = load_settings(args)
    report = verify(
        args.ref,
        # Only what the user gave or configured: the default platforms say nothing of this image.
        expected_platforms(settings),
        builder=settings.builder.name,
        runner=make_runner(args),
    )
    if args.json:
        print_json(report.model_dump())
    else:
        show(report)
    report.raise_for_mismatch()
    return 0


def verdict(status: str, ok: bool, notes: list[str]) -> str:
    if not ok:
        return {"missing": "MISSING", "extra": "EXTRA"}.get(status, "MISMATCH")
    return "ok (see notes)" if notes else "ok"


def show(report: VerifyReport) -> None:
    kind = "index" if report.is_index else "image"
    print(f"{report.ref}  {report.digest}  ({kind})")
    rows = []
    for p in report.platforms:
        binary = f"{p.binary} ({p.elf})" if p.binary else "-"
        digest = p.digest[:19] if p.digest else "-"
        rows.append((p.platform, digest, p.config_platform or "-", binary,
                     verdict(p.status, p.ok, p.notes)))  # fmt: skip
    print_table(("PLATFORM", "DIGEST", "CONFIG", "BINARY", "VERDICT"), rows)
    for p in report.platforms:
        for problem in p.problems:
            print(f"  {p.platform}: {problem}")
        for note in p.notes:
            print(f"  {p.platform}: note: {note}")
    for note in report.notes:
        print(f"  note: {note}")
