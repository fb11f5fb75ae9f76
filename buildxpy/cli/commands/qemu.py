from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_command,
    add_group,
    add_json_flag,
    load_settings,
    make_runner,
)

# Kept here, not imported from buildxpy.builders.qemu, so --help loads no pydantic.
BINFMT_IMAGE_HELP = "tonistiigi/binfmt:qemu-v8.1.5"


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    actions = add_group(
        subparsers, "qemu", "QEMU user-mode emulation for foreign platforms", "qemu_action"
    )
    parser = add_command(
        actions, common, "install", QemuInstallArgs, install,
        "register QEMU emulators (binfmt_misc, F flag) for the foreign platforms",
    )  # fmt: skip
    parser.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                        help="platforms to emulate (default: the configured ones)")  # fmt: skip
    parser.add_argument("--binfmt-image", metavar="IMAGE",
                        help=f"emulator installer image (default: {BINFMT_IMAGE_HELP})")  # fmt: skip
    parser.add_argument("--force", action="store_true",
                        help="register again even when a working emulator is there")  # fmt: skip
    add_json_flag(parser)


@dataclass(frozen=True, kw_only=True, slots=True)
class QemuInstallArgs(JsonArgs):
    binfmt_image: str | None = None
    force: bool = False


def install(args: QemuInstallArgs) -> int:
    from buildxpy.builders.qemu import BINFMT_IMAGE, qemu_install
    from buildxpy.cli.commands._common import print_json
    from buildxpy.log import get

    settings = load_settings(args)
    result = qemu_install(
        settings.platforms,
        make_runner(args),
        image=args.binfmt_image or BINFMT_IMAGE,
        force=args.force,
    )
    if args.json:
        print_json(result.model_dump())
    elif not result.dry_run:
        log = get()
        if result.installed:
            log.info("emulators registered", platforms=result.installed)
        if result.already:
            log.info("emulators already registered", platforms=result.already)
        if not result.installed and not result.already:
            log.info("no foreign platform configured; nothing to register")
    return 0
