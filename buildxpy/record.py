"""Records: what ``@dataclass(frozen=True)`` gives buildxpy, without its code generation.

``dataclass`` writes out and compiles ``__init__``, ``__eq__``, ``__hash__``, ``__repr__`` and
``__setattr__`` for every class it decorates: about 4 M instructions (over a millisecond here)
per class, paid at import by every command that loads it, and a build loads some twenty. A
``Record`` subclass gets the same behaviour from one shared implementation that reads the field
list made once per class. Type checkers see a dataclass (``dataclass_transform``); fields take
defaults and ``dataclasses.field(default_factory=...)`` as with ``dataclass``.

    class Platform(Record, order=True):
        os: str
        arch: str
        variant: str = ""

Class keywords: ``frozen`` (default True), ``kw_only`` (default False), ``order`` (default False).
``replace`` and ``field_names`` stand in for ``dataclasses.replace`` and ``dataclasses.fields``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, field
from typing import Any, ClassVar, TypeVar, dataclass_transform

R = TypeVar("R", bound="Record")

__all__ = ["Record", "field", "field_names", "replace"]


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
class Record:
    _record_fields: ClassVar[tuple[str, ...]] = ()
    _record_defaults: ClassVar[dict[str, Any]] = {}
    _record_factories: ClassVar[dict[str, Callable[[], Any]]] = {}
    _record_frozen: ClassVar[bool] = True
    _record_kw_only: ClassVar[bool] = False

    def __init_subclass__(
        cls, *, frozen: bool = True, kw_only: bool = False, order: bool = False, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if cls._record_fields and cls._record_frozen != frozen:
            raise TypeError(f"{cls.__name__}: a record and its base are frozen alike")
        names = list(cls._record_fields)
        defaults = dict(cls._record_defaults)
        factories = dict(cls._record_factories)
        # Not inspect.get_annotations: importing inspect costs more than every record it would read.
        annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        for name, annotation in annotations.items():
            if _is_class_var(annotation):
                continue
            if name not in names:
                names.append(name)
            value = cls.__dict__.get(name, MISSING)
            if isinstance(value, Field):
                value = _from_field(cls, name, value, factories)
            if value is not MISSING:
                defaults[name] = value
                factories.pop(name, None)
            elif name not in factories:
                defaults.pop(name, None)
        cls._record_fields = tuple(names)
        cls._record_defaults = defaults
        cls._record_factories = factories
        cls._record_frozen = frozen
        cls._record_kw_only = kw_only
        if not frozen and "__hash__" not in cls.__dict__:
            # As with dataclass: a mutable record does not hash (equal ones could hash apart).
            cls.__hash__ = None  # type: ignore[assignment]
        if order:
            for name, method in _ORDER.items():
                setattr(cls, name, method)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self._record_fields
        if args and self._record_kw_only:
            raise TypeError(f"{type(self).__name__}() takes keyword arguments only")
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes {len(names)} arguments")
        values = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name in values or name not in names:
                raise TypeError(f"{type(self).__name__}() got an unexpected or repeated {name!r}")
            values[name] = value
        for name in names[len(args) :]:
            if name in values:
                continue
            if name in self._record_defaults:
                values[name] = self._record_defaults[name]
            elif name in self._record_factories:
                values[name] = self._record_factories[name]()
            else:
                raise TypeError(f"{type(self).__name__}() missing argument {name!r}")
        # Fields live in the instance's __dict__ (written directly: frozen __setattr__ refuses).
        self.__dict__.update(values)

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__[name] for name in self._record_fields)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._record_frozen:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self._record_frozen:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._record_fields)
        return f"{type(self).__qualname__}({shown})"


def replace(record: R, /, **changes: Any) -> R:
    """A copy of ``record`` with ``changes`` (``dataclasses.replace``)."""
    unknown = changes.keys() - set(record._record_fields)
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field {sorted(unknown)[0]!r}")
    return type(record)(
        **{**dict(zip(record._record_fields, record._values(), strict=True)), **changes}
    )


def field_names(record: Record | type[Record]) -> tuple[str, ...]:
    """The fields in declaration order, a base's first (``dataclasses.fields``)."""
    return record._record_fields


def _is_class_var(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return getattr(annotation, "__origin__", annotation) is ClassVar


def _from_field(
    cls: type, name: str, spec: Field[Any], factories: dict[str, Callable[[], Any]]
) -> object:
    """The default a ``field(...)`` gives; its factory is kept in ``factories``."""
    if spec.default_factory is not MISSING:
        factories[name] = spec.default_factory
        delattr(cls, name)
        return MISSING
    if spec.default is MISSING:
        delattr(cls, name)
        return MISSING
    setattr(cls, name, spec.default)
    return spec.default


def _order_key(left: Record, right: object) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    if right.__class__ is left.__class__:
        return left._values(), right._values()
    return None


def _lt(self: Record, other: object) -> bool:
    pair = _order_key(self, other)
    return NotImplemented if pair is None else pair[0] < pair[1]


def _le(self: Record, other: object) -> bool:
    pair = _order_key(self, other)
    return NotImplemented if pair is None else pair[0] <= pair[1]


def _gt(self: Record, other: object) -> bool:
    pair = _order_key(self, other)
    return NotImplemented if pair is None else pair[0] > pair[1]


def _ge(self: Record, other: object) -> bool:
    pair = _order_key(self, other)
    return NotImplemented if pair is None else pair[0] >= pair[1]


_ORDER = {"__lt__": _lt, "__le__": _le, "__gt__": _gt, "__ge__": _ge}
