"""`buildxpy builder setup|ls|inspect|rm|use|stop`."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from buildxpy.cli.commands._common import (
    JsonArgs,
    add_builder_flags,
    add_command,
    add_group,
    add_json_flag,
    load_settings,
    make_runner,
    print_json,
    print_table,
)

if TYPE_CHECKING:
    from buildxpy.builders.manage import Builder


@dataclass(frozen=True, kw_only=True, slots=True)
class SetupArgs(JsonArgs):
    force: bool = False
    bootstrap: bool = True
    use: bool = False
    timeout: float = 300.0


@dataclass(frozen=True, kw_only=True, slots=True)
class NamedArgs(JsonArgs):
    """``inspect``, ``rm``, ``use``, ``stop``: NAME, else the configured builder."""

    name: str | None = None
    keep_state: bool = False


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    actions = add_group(subparsers, "builder", "manage buildx builders", "builder_action")

    setup = add_command(actions, common, "setup", SetupArgs, _setup,
                        "make the configured builder exist as configured, then boot it")  # fmt: skip
    add_builder_flags(setup)
    setup.add_argument("--platform", action="append", dest="platforms", metavar="P[,P…]",
                       help="platforms the builder serves (default: the configured platforms)")  # fmt: skip
    setup.add_argument("--force", action="store_true", help="remove and recreate the builder")
    setup.add_argument("--no-bootstrap", dest="bootstrap", action="store_false",
                       help="do not boot the builder")  # fmt: skip
    setup.add_argument("--use", action="store_true", help="make it the current builder")
    setup.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                       help="how long booting may take (default: 300)")  # fmt: skip
    add_json_flag(setup)

    ls = add_command(actions, common, "ls", JsonArgs, _ls, "list builders and their nodes")
    add_json_flag(ls)
    inspect = add_command(actions, common, "inspect", NamedArgs, _inspect,
                          "show one builder and its nodes")  # fmt: skip
    _name_argument(inspect)
    add_json_flag(inspect)
    rm = add_command(actions, common, "rm", NamedArgs, _rm,
                     "remove a builder and the docker contexts buildxpy created for it")  # fmt: skip
    _name_argument(rm)
    rm.add_argument("--keep-state", action="store_true", help="keep BuildKit's state volume")
    use = add_command(actions, common, "use", NamedArgs, _use, "make a builder the current one")
    use.add_argument("name", metavar="NAME")
    stop = add_command(actions, common, "stop", NamedArgs, _stop, "stop a builder's BuildKit")
    _name_argument(stop)


def _name_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="builder name (default: the configured builder)")  # fmt: skip


def _builder_name(args: NamedArgs) -> str:
    """NAME, else the configured builder; validated like configuration before any docker call."""
    extra = (
        {"builder": {**args.overrides.get("builder", {}), "name": args.name}} if args.name else {}
    )
    return load_settings(args, **extra).builder.name


def _setup(args: SetupArgs) -> int:
    from buildxpy.builders.manage import ensure_builder

    settings = load_settings(args)
    builder = ensure_builder(
        settings.builder.description(), settings.builder_platforms, make_runner(args),
        force=args.force, bootstrap=args.bootstrap, use=args.use, timeout=args.timeout,
    )  # fmt: skip
    if args.json:
        print_json(builder.model_dump(mode="json"))
    return 0


def _ls(args: JsonArgs) -> int:
    from buildxpy.builders.manage import list_builders_info

    builders = list_builders_info(make_runner(args))
    _show(builders, as_json=args.json)
    return 0


def _inspect(args: NamedArgs) -> int:
    from buildxpy.builders.manage import inspect_builder

    builder = inspect_builder(_builder_name(args), make_runner(args))
    if args.json:
        print_json(builder.model_dump(mode="json"))
    else:
        _show([builder], as_json=False)
    return 0


def _rm(args: NamedArgs) -> int:
    from buildxpy.builders.manage import remove_builder

    remove_builder(_builder_name(args), make_runner(args), keep_state=args.keep_state)
    return 0


def _use(args: NamedArgs) -> int:
    from buildxpy.builders.manage import use_builder

    use_builder(_builder_name(args), make_runner(args))
    return 0


def _stop(args: NamedArgs) -> int:
    from buildxpy.builders.manage import stop_builder

    stop_builder(_builder_name(args), make_runner(args))
    return 0


def _show(builders: list[Builder], *, as_json: bool) -> None:
    if as_json:
        print_json([b.model_dump(mode="json") for b in builders])
        return
    rows: list[list[str]] = []
    for builder in builders:
        marker = " *" if builder.current else ""
        rows.append([builder.name + marker, builder.driver, "", builder.error or "", "", ""])
        for node in builder.nodes:
            rows.append([
                f"  {node.name}", "", node.endpoint, node.error or node.status,
                node.buildkit or "", ", ".join(node.platforms),
            ])  # fmt: skip
    print_table(["NAME/NODE", "DRIVER", "ENDPOINT", "STATUS", "BUILDKIT", "PLATFORMS"], rows)
