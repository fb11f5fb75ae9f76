from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from buildxpy.commands._common import add_command, add_json_flag, make_runner, print_json


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        subparsers, common, "manifest", _missing_action,
        "create and inspect multi-platform manifest lists (image indexes)",
    )  # fmt: skip
    actions = parser.add_subparsers(dest="manifest_command", metavar="ACTION", required=True)

    create = add_command(
        actions, common, "create", run_create,
        "make one manifest list REF from per-platform images or existing indexes",
    )  # fmt: skip
    create.add_argument("ref", nargs="?", metavar="REF", help="the list to write, e.g. reg/app:1.0")
    create.add_argument("sources", nargs="*", metavar="SOURCE", help="images or indexes to join")
    create.add_argument("--backend", choices=("imagetools", "docker"), default="imagetools",
                        help="docker buildx imagetools create (default) or docker manifest")  # fmt: skip
    create.add_argument("--from-spec", metavar="FILE", type=Path,
                        help="manifest-tool YAML spec (image, tags, manifests[].image/platform)")  # fmt: skip
    add_json_flag(create)

    inspect = add_command(
        actions, common, "inspect", run_inspect, "show the platforms of REF and their digests"
    )
    inspect.add_argument("ref", metavar="REF")
    add_json_flag(inspect)


def _missing_action(args: argparse.Namespace) -> int:
    # argparse requires an action, so this only runs when called directly.
    print("usage: buildxpy manifest {create,inspect} …", file=sys.stderr)
    return 2


def run_create(args: argparse.Namespace) -> int:
    from buildxpy import manifest
    from buildxpy.errors import ConfigError

    if args.from_spec is not None:
        if args.ref or args.sources:
            raise ConfigError("give either --from-spec FILE or REF SOURCE…, not both")
        result = manifest.manifest_create_from_spec(
            args.from_spec, make_runner(args), backend=args.backend
        )
    else:
        if not args.ref or not args.sources:
            raise ConfigError("manifest create needs REF and at least one SOURCE (or --from-spec)")
        result = manifest.manifest_create(
            args.ref, args.sources, make_runner(args), backend=args.backend
        )
    if args.json:
        print_json(result.model_dump())
    elif result.digest:
        print(result.digest)
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from buildxpy import manifest
    from buildxpy.commands._common import print_table

    info = manifest.manifest_inspect(args.ref, make_runner(args))
    if args.json:
        print_json(info.model_dump())
        return 0
    print(f"{info.ref}  {info.digest}")
    print_table(
        ("PLATFORM", "DIGEST", "SIZE"), ((m.platform, m.digest, m.size) for m in info.manifests)
    )
    return 0
