"""Helpers the command modules share: settings flags, runner, output.

Kept free of heavy imports at module level; functions import what they need.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TextIO, TypeVar

if TYPE_CHECKING:
    from buildxpy.docker.runner import Runner
    from buildxpy.settings.model import Settings

A = TypeVar("A", bound="Globals")


@dataclass(frozen=True, kw_only=True, slots=True)
class Globals:
    """What every command is given: the global options and the settings flags the user gave.
    Each command declares a subclass with its own options and takes exactly that."""

    config: Path | None = None
    log_format: str = "auto"
    verbose: int = 0
    quiet: bool = False
    dry_run: bool = False
    # Settings keys from the flags given on the command line (flags not given are absent).
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_namespace(cls, namespace: argparse.Namespace) -> Self:
        # A parser may leave out an option its command does not offer: the field's default holds.
        values = {
            name: getattr(namespace, name)
            for name in (f.name for f in fields(cls))
            if name != "overrides" and hasattr(namespace, name)
        }
        if values.get("config") is not None:
            values["config"] = Path(values["config"])
        return cls(**values, overrides=flag_overrides(namespace))


@dataclass(frozen=True, kw_only=True, slots=True)
class JsonArgs(Globals):
    json: bool = False


def add_command(
    subparsers: Any,
    common: argparse.ArgumentParser,
    name: str,
    args_type: type[A],
    run: Callable[[A], int],
    help_text: str,
) -> argparse.ArgumentParser:
    """A sub-command whose options arrive as ``args_type``; ``run`` is called with them."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, parents=[common], help=help_text, description=help_text
    )
    parser.set_defaults(func=functools.partial(_dispatch, args_type, run))
    return parser


def add_group(subparsers: Any, name: str, help_text: str, dest: str) -> Any:
    """A command made of actions (``builder setup``): argparse itself refuses it without one."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest=dest, metavar="ACTION", required=True)


def _dispatch(args_type: type[A], run: Callable[[A], int], namespace: argparse.Namespace) -> int:
    return run(args_type.from_namespace(namespace))


def add_image_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("image")
    group.add_argument("--image", help="image repository, e.g. registry.example.com/team/app")
    group.add_argument("-t", "--tag", action="append", dest="tags", metavar="TAG",
                       help="tag or full reference (repeatable; default: latest)")  # fmt: skip
    group.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                       help="target platforms, e.g. linux/amd64,linux/arm64 (repeatable)")  # fmt: skip


def add_build_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("context", nargs="?", metavar="CONTEXT", help="build context (default: .)")
    group = parser.add_argument_group("build")
    group.add_argument("-f", "--file", dest="dockerfile", metavar="DOCKERFILE")
    group.add_argument("--target", help="stage to build")
    group.add_argument("--build-arg", action="append", dest="build_args", metavar="K=V")
    group.add_argument("--label", action="append", dest="labels", metavar="K=V")
    group.add_argument("--secret", action="append", dest="secrets",
                       metavar="id=ID,src=PATH|id=ID,env=VAR")  # fmt: skip
    group.add_argument("--cache-from", action="append", metavar="SPEC")
    group.add_argument("--cache-to", action="append", metavar="SPEC")
    group.add_argument("--progress", choices=("auto", "plain", "tty", "quiet", "rawjson"))
    add_declared_flags(group)
    group.add_argument("--check", action="store_const", const="check", dest="call",
                       help="run the build checks only (--call check)")  # fmt: skip
    group.add_argument("--reproducible", action="store_true", default=None,
                       help="timestamps from SOURCE_DATE_EPOCH or the commit, rewritten in the "
                       "image's files (BUILDXPY_REPRODUCIBLE)")  # fmt: skip
    group.add_argument("--preflight", action=argparse.BooleanOptionalAction, default=None,
                       help="refuse, before building, base images that lack a target platform "
                       "(default: on; BUILDXPY_PREFLIGHT)")  # fmt: skip


def add_declared_flags(group: argparse._ArgumentGroup) -> None:
    """A flag for each declared build input (builds/buildx_inputs.py), in its order."""
    from buildxpy.builds.buildx_inputs import DECLARED

    for item in DECLARED:
        options: dict[str, Any] = {"dest": item.name, "help": item.input.help}
        if item.kind == "switch":
            options.update(action="store_true", default=None)
        else:
            options["metavar"] = item.input.metavar
        if item.kind in ("list", "map"):
            options["action"] = "append"
        group.add_argument(item.input.flag, **options)


def add_pipeline_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline")
    group.add_argument("--tags-from", choices=("git",),
                       help="add tags computed from git or the CI's variables")  # fmt: skip
    group.add_argument("--oci-metadata", action=argparse.BooleanOptionalAction, default=None,
                       help="org.opencontainers.image.* labels and annotations (default: on)")  # fmt: skip
    group.add_argument("--cache", metavar="MODE",
                       help="auto (default), registry, gha, local:DIR or off")  # fmt: skip
    group.add_argument("--output-env", metavar="FILE",
                       help="also write the results as KEY=VALUE lines (GitLab dotenv, make)")  # fmt: skip


def add_builder_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("builder")
    group.add_argument("--builder", dest="builder_name", metavar="NAME",
                       help="builder to use (default: buildxpy)")  # fmt: skip
    group.add_argument("--driver", choices=("docker-container", "docker", "remote", "kubernetes"))
    group.add_argument("--driver-opt", action="append", dest="driver_opts", metavar="K=V")
    group.add_argument("--buildkitd-flags", metavar="FLAGS")
    group.add_argument("--node", action="append", dest="nodes",
                       metavar="NAME=ENDPOINT[;platforms=a,b]")  # fmt: skip
    group.add_argument("--buildkitd-config", metavar="FILE", help="buildkitd.toml for the nodes")


def add_verify_flags(parser: argparse.ArgumentParser, *, builder: bool = True) -> None:
    group = parser.add_argument_group("verification")
    group.add_argument("--verify", action=argparse.BooleanOptionalAction, dest="verify", default=None,
                       help="check what was pushed: platforms, configs, entrypoint binaries "
                       "(default: on; BUILDXPY_VERIFY)")  # fmt: skip
    if builder:
        group.add_argument("--builder", dest="builder_name", metavar="NAME",
                           help="builder that reads the image's files (default: buildxpy)")  # fmt: skip


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")


# argparse dest -> settings key path, beside each declared build input's own name. Only flags the
# user actually gave reach the settings.
_FLAG_KEYS: dict[str, tuple[str, ...]] = {
    "image": ("image",),
    "tags": ("tags",),
    "platforms": ("platforms",),
    "context": ("context",),
    "dockerfile": ("dockerfile",),
    "target": ("target",),
    "build_args": ("build_args",),
    "labels": ("labels",),
    "secrets": ("secrets",),
    "cache_from": ("cache_from",),
    "cache_to": ("cache_to",),
    "progress": ("progress",),
    "push": ("push",),
    "verify": ("verify",),
    "load": ("load",),
    "output_dir": ("output_dir",),
    "builder_name": ("builder", "name"),
    "driver": ("builder", "driver"),
    "driver_opts": ("builder", "driver_opts"),
    "buildkitd_flags": ("builder", "buildkitd_flags"),
    "nodes": ("builder", "nodes"),
    "require_native": ("require_native",),
    "preflight": ("preflight",),
    "reproducible": ("reproducible",),
    "tags_from": ("tags_from",),
    "oci_metadata": ("oci_metadata",),
    "cache": ("cache",),
    "output_env": ("output_env",),
    "buildkitd_config": ("builder", "buildkitd_config"),
}


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    from buildxpy.builds.buildx_inputs import DECLARED

    declared = {item.name: (item.name,) for item in DECLARED}
    out: dict[str, Any] = {}
    for dest, path in {**_FLAG_KEYS, **declared}.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if dest == "platforms":
            value = [item for chunk in value for item in chunk.split(",") if item.strip()]
        elif dest == "nodes":
            from buildxpy.settings.builder import parse_node_flag

            value = [parse_node_flag(item) for item in value]
        target = out
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return out


def load_settings(args: Globals, **extra: Any) -> Settings:
    from buildxpy.settings import model as settings

    return settings.load({**args.overrides, **extra}, config=args.config)


def make_runner(args: Globals) -> Runner:
    from buildxpy.docker import runner

    return runner.create(dry_run=args.dry_run)


def print_json(data: Any, file: TextIO | None = None) -> None:
    json.dump(data, file or sys.stdout, indent=2, default=str)
    print(file=file or sys.stdout)


def print_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], file: TextIO | None = None
) -> None:
    cells = [[str(c) for c in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    out = file or sys.stdout
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
