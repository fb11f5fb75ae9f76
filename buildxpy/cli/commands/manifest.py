from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_command,
    add_group,
    add_json_flag,
    add_verify_flags,
    load_settings,
    make_runner,
    print_json,
)

if TYPE_CHECKING:
    from buildxpy.manifests.lists import Backend
    from buildxpy.settings.model import Settings


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    actions = add_group(
        subparsers, "manifest",
        "create and inspect multi-platform manifest lists (image indexes)", "manifest_action",
    )  # fmt: skip

    create = add_command(
        actions, common, "create", CreateArgs, run_create,
        "make one manifest list REF from per-platform images or existing indexes",
    )  # fmt: skip
    create.add_argument("ref", nargs="?", metavar="REF", help="the list to write, e.g. reg/app:1.0")
    create.add_argument("sources", nargs="*", metavar="SOURCE", help="images or indexes to join")
    create.add_argument("--backend", choices=("imagetools", "docker"), default="imagetools",
                        help="docker buildx imagetools create (default) or docker manifest")  # fmt: skip
    create.add_argument("--from-spec", metavar="FILE", type=Path,
                        help="manifest-tool YAML spec (image, tags, manifests[].image/platform)")  # fmt: skip
    create.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                        help="the exact platforms the new index must list (default: the configured "
                        "platforms when configured, the spec's with --from-spec)")  # fmt: skip
    add_verify_flags(create)
    add_json_flag(create)

    inspect = add_command(
        actions,
        common,
        "inspect",
        InspectArgs,
        run_inspect,
        "show the platforms of REF and their digests",
    )
    inspect.add_argument("ref", metavar="REF")
    add_json_flag(inspect)


@dataclass(frozen=True, kw_only=True, slots=True)
class CreateArgs(JsonArgs):
    ref: str | None = None
    sources: list[str]
    backend: Backend = "imagetools"
    from_spec: Path | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class InspectArgs(JsonArgs):
    ref: str


def run_create(args: CreateArgs) -> int:
    from buildxpy.errors import ConfigError
    from buildxpy.manifests import lists as manifest

    settings = load_settings(args)
    if args.from_spec is not None:
        if args.ref or args.sources:
            raise ConfigError("give either --from-spec FILE or REF SOURCE…, not both")
        from buildxpy.manifests.spec import manifest_create_from_spec

        result = manifest_create_from_spec(
            args.from_spec, make_runner(args), backend=args.backend, verify=settings.verify,
            builder=settings.builder.name,
        )  # fmt: skip
    else:
        if not args.ref or not args.sources:
            raise ConfigError("manifest create needs REF and at least one SOURCE (or --from-spec)")
        result = manifest.manifest_create(
            args.ref, args.sources, make_runner(args), backend=args.backend,
            verify=settings.verify, platforms=expected_platforms(settings),
            builder=settings.builder.name,
        )  # fmt: skip
    if args.json:
        print_json(result.model_dump())
    elif result.digest:
        print(result.digest)
    return 0


def expected_platforms(settings: Settings) -> list[str] | None:
    """What the index must list: the configured platforms, when they were configured at all."""
    return [str(p) for p in settings.platforms] if settings.platforms_given else None


def run_inspect(args: InspectArgs) -> int:
    from buildxpy.cli.commands._common import print_table
    from buildxpy.manifests import lists as manifest

    info = manifest.manifest_inspect(args.ref, make_runner(args))
    if args.json:
        print_json(info.model_dump())
        return 0
    print(f"{info.ref}  {info.digest}")
    print_table(
        ("PLATFORM", "DIGEST", "SIZE"), ((m.platform, m.digest, m.size) for m in info.manifests)
    )
    return 0
