"""How a build input is declared (``Input``, read from an ``Annotated`` TypedDict entry) and what
the declaration gives the rest of buildxpy: its kind, its check, its ``BUILDXPY_*`` variable and the
words buildx gets. ``buildx_inputs`` holds the declarations themselves."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin, get_type_hints

# switch: `bool`; value: `str | None`; list: `Sequence[str]`; map: `Mapping[str, str]`.
Kind = Literal["switch", "value", "list", "map"]
Argv = Callable[[str, Any], list[str]]


def each_value(flag: str, value: Any) -> list[str]:
    """``FLAG VALUE`` for each value: a switch alone, a text, each item of a list, each
    ``NAME=VALUE`` of a map; nothing for a value not given."""
    if value is True:
        return [flag]
    if value is None or value is False or value == "":
        return []
    if isinstance(value, str):
        return [flag, value]
    if isinstance(value, Mapping):
        return [word for key, item in value.items() for word in (flag, f"{key}={item}")]
    return [word for item in value for word in (flag, item)]


def joined(flag: str, value: str | None) -> list[str]:
    """``FLAG=VALUE`` as one word: buildx parses some flags leniently (``--provenance false``
    would leave ``false`` behind as the context)."""
    return [] if value is None else [f"{flag}={value}"]


@dataclass(frozen=True, slots=True)
class Input:
    """One build input, as the command line, the configuration and buildx know it."""

    # The command line's flag, and buildx's unless `argv` says otherwise.
    flag: str
    metavar: str | None = None
    help: str | None = None
    # Each value (each item of a list) is given to `check`, each entry of a map to `check_entry`;
    # they raise ValueError naming the value.
    check: Callable[[str], object] | None = None
    check_entry: Callable[[str, str], object] | None = None
    # In the environment, one item a line (a JSON list too): for items that hold commas.
    lines: bool = False
    # The variable that sets it: True for BUILDXPY_<NAME>, a name, or False for none.
    env: bool | str = True
    # (flag, value) -> buildx's words; None: the input has no words of its own.
    argv: Argv | None = each_value
    # The first buildx that has the flag; None: older than any buildx buildxpy supports (0.13).
    since: str | None = None
    # BuildSpec has a field of this name (other code reads or merges the value); the others ride
    # in BuildSpec.inputs.
    own_field: bool = False


@dataclass(frozen=True, slots=True)
class Declared:
    """A declared input with its name (the settings key and the Python keyword) and kind."""

    name: str
    kind: Kind
    input: Input

    @property
    def env(self) -> str | None:
        if self.input.env is True:
            return "BUILDXPY_" + self.name.upper()
        return self.input.env or None

    @property
    def since(self) -> tuple[int, int] | None:
        if self.input.since is None:
            return None
        major, _, minor = self.input.since.partition(".")
        return int(major), int(minor)

    def checked(self, value: Any) -> Any:
        """``value`` once ``check`` or ``check_entry`` has passed it."""
        if value is None:
            return value
        if self.input.check is not None:
            items = value if self.kind == "list" else [value]
            for item in items:
                self.input.check(item)
        if self.input.check_entry is not None:
            for key, item in value.items():
                self.input.check_entry(key, item)
        return value

    def argv(self, value: Any) -> list[str]:
        return [] if self.input.argv is None else self.input.argv(self.input.flag, value)


def read_declaration(declaration: type) -> tuple[Declared, ...]:
    """Each entry of a TypedDict whose values are ``Annotated[type, Input(...)]``, in order."""
    hints = get_type_hints(declaration, include_extras=True)
    out = []
    for name, hint in hints.items():
        kind_type, *extras = get_args(hint)
        found = [extra for extra in extras if isinstance(extra, Input)]
        if get_origin(hint) is not typing.Annotated or len(found) != 1:
            raise TypeError(f"{declaration.__name__}.{name}: expected Annotated[type, Input(...)]")
        out.append(Declared(name, kind_of(kind_type, name), found[0]))
    return tuple(out)


def kind_of(hint: Any, name: str) -> Kind:
    origin = get_origin(hint)
    if hint is bool:
        return "switch"
    if origin in (types.UnionType, typing.Union) and set(get_args(hint)) == {str, type(None)}:
        return "value"
    if origin is Sequence and get_args(hint) == (str,):
        return "list"
    if origin is Mapping and get_args(hint) == (str, str):
        return "map"
    raise TypeError(
        f"{name}: a build input is bool, str | None, Sequence[str] or Mapping[str, str]"
    )
