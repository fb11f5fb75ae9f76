from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_command,
    add_json_flag,
    load_settings,
    make_runner,
    print_json,
    print_table,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class DoctorArgs(JsonArgs):
    pass


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "doctor", DoctorArgs, run,
        "check docker, buildx, QEMU emulation and the builder; exit 1 if a check fails",
    )  # fmt: skip
    parser.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                        help="platforms to check emulation for (default: the configured ones)")  # fmt: skip
    parser.add_argument("--builder", dest="builder_name", metavar="NAME")
    add_json_flag(parser)


def run(args: DoctorArgs) -> int:
    from buildxpy.builders.doctor import doctor
    from buildxpy.errors import BuildxpyError

    settings = load_settings(args)
    report = doctor(settings.platforms, builder=settings.builder.name, runner=make_runner(args))
    if args.json:
        print_json(report.model_dump(exclude_none=True))
    else:
        marks = {"ok": "ok", "warn": "warn", "fail": "FAIL"}
        rows = [(marks[c.status], c.label, c.detail) for c in report.checks]
        print_table(("", "check", "detail"), rows)
    failed = [c.label for c in report.checks if c.status == "fail"]
    if failed:
        raise BuildxpyError(f"checks failed: {', '.join(failed)}")
    return 0
