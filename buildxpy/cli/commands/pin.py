"""``buildxpy pin``: the Dockerfile's base images, by digest, in ``buildxpy.lock``; ``--check``
for a scheduled job, ``--update`` to move the pins."""

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
)

if TYPE_CHECKING:
    from buildxpy.pins.pinning import Pinned


@dataclass(frozen=True, kw_only=True, slots=True)
class PinArgs(JsonArgs):
    check: bool = False
    update: bool = False


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "pin", PinArgs, run,
        "write the Dockerfile's base images, by digest, to buildxpy.lock; builds then use them",
    )  # fmt: skip
    # Not the build flags: their `--check` is `--call check`.
    parser.add_argument("context", nargs="?", metavar="CONTEXT", help="build context (default: .)")
    parser.add_argument("-f", "--file", dest="dockerfile", metavar="DOCKERFILE")
    parser.add_argument("--target", help="stage to build")
    parser.add_argument("--build-arg", action="append", dest="build_args", metavar="K=V")
    parser.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                        help="the platforms the bases are checked for (default: configured)")  # fmt: skip
    parser.add_argument("--builder", dest="builder_name", metavar="NAME",
                        help="builder whose registry settings apply (default: buildxpy)")  # fmt: skip
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="exit 1 naming every base that moved or is not pinned")  # fmt: skip
    mode.add_argument("--update", action="store_true",
                      help="move every pin to what the registry serves now")  # fmt: skip
    add_json_flag(parser)


def run(args: PinArgs) -> int:
    from buildxpy.builds.bases import base_refs
    from buildxpy.builds.spec import BuildSpec
    from buildxpy.pins import pinning

    settings = load_settings(args)
    # What names the bases; a pin needs no image name.
    spec = BuildSpec(
        platforms=tuple(settings.platforms), context=settings.context,
        dockerfile=settings.dockerfile, target=settings.target, build_args=settings.build_args,
        build_contexts=settings.build_contexts, builder=settings.builder.name,
    )  # fmt: skip
    lock = settings.lock_file
    assert lock is not None  # `load` always places it
    refs = [ref for ref in base_refs(spec) if "@sha256:" not in ref]
    reader = _reader(spec.builder)
    if args.check:
        pinning.check(make_runner(args), refs, lock, reader)
        print(f"{lock.name}: {len(refs)} base(s) hold")
        return 0
    _show(args, pinning.pin(make_runner(args), refs, lock, reader, update=args.update))
    return 0


def _reader(builder: str) -> str | None:
    # The default builder name may not exist: imagetools then reads without one.
    return None if builder == "buildxpy" else builder


def _show(args: PinArgs, pinned: Pinned) -> None:
    if args.json:
        print_json({ref: {"digest": pin.digest, "platforms": dict(pin.platforms)}
                    for ref, pin in sorted(pinned.pins.items())})  # fmt: skip
        return
    for ref, pin in sorted(pinned.pins.items()):
        was = pinned.before.get(ref)
        note = "" if was is None or was.digest == pin.digest else f"  (was {was.digest[:19]}…)"
        print(f"{ref}  {pin.digest}{note}")
