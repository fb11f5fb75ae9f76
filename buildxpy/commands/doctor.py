from __future__ import annotations

import argparse
import sys
from typing import Any

from buildxpy.commands._common import add_command, add_json_flag, load_settings, make_runner


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "doctor", run,
        "check docker, buildx, QEMU emulation and the builder; exit 1 if a check fails",
    )  # fmt: skip
    parser.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                        help="platforms to check emulation for (default: the configured ones)")  # fmt: skip
    parser.add_argument("--builder", dest="builder_name", metavar="NAME")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from buildxpy.commands._common import print_json, print_table
    from buildxpy.doctor import doctor

    settings = load_settings(args)
    report = doctor(settings, settings.platforms, make_runner(args))
    if args.json:
        print_json(report.model_dump(exclude_none=True))
    else:
        marks = {"ok": "ok", "warn": "warn", "fail": "FAIL"}
        rows = [
            (marks[c.status], c.name + (f" {c.platform}" if c.platform else ""), c.detail)
            for c in report.checks
        ]
        print_table(("", "check", "detail"), rows)
    if not report.ok:
        failed = ", ".join(
            c.name + (f" {c.platform}" if c.platform else "")
            for c in report.checks
            if c.status == "fail"
        )
        print(f"buildxpy: error: checks failed: {failed}", file=sys.stderr)
        return 1
    return 0
