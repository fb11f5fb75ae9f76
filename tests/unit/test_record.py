"""Records behave as the frozen dataclasses they stand in for."""

from __future__ import annotations

import copy
from dataclasses import FrozenInstanceError

import pytest

from buildxpy.record import Record, field, field_names, replace


class Point(Record, order=True):
    x: int
    y: int = 0


class Options(Record, kw_only=True):
    name: str
    tags: list[str] = field(default_factory=list)
    note: str = field(default="none")


class More(Options, kw_only=True):
    extra: int = 1


class Clock(Record, frozen=False):
    seconds: float = 0.0


def test_positional_keyword_and_defaults() -> None:
    assert Point(1) == Point(x=1, y=0)
    assert Point(1, 2).y == 2
    assert Options(name="a").note == "none"


def test_each_record_gets_its_own_factory_value() -> None:
    first, second = Options(name="a"), Options(name="b")
    first.tags.append("x")
    assert second.tags == []


def test_equality_and_hash_follow_the_fields() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert len({Point(1, 2), Point(1, 2), Point(0, 0)}) == 2
    # Another record type with the same values is not equal, as with dataclasses.
    assert Point(1, 2) != (1, 2)


def test_order_compares_field_by_field() -> None:
    assert sorted([Point(2, 0), Point(1, 5), Point(1, 2)]) == [
        Point(1, 2),
        Point(1, 5),
        Point(2, 0),
    ]
    with pytest.raises(TypeError):
        _ = Options(name="a") < Options(name="b")  # type: ignore[operator]


def test_frozen_refuses_assignment_and_deletion() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError):
        point.x = 3  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del point.x


def test_mutable_record_assigns_and_does_not_hash() -> None:
    clock = Clock()
    clock.seconds = 2.5
    assert clock == Clock(seconds=2.5)
    with pytest.raises(TypeError):
        hash(clock)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Options("a"),  # type: ignore[call-arg]  # keyword-only
        lambda: Point(),  # type: ignore[call-arg]  # noqa: PLW0108  # x has no default
        lambda: Point(1, 2, 3),  # type: ignore[call-arg]  # too many
        lambda: Point(1, x=1),  # type: ignore[misc]  # given twice
        lambda: Point(1, z=1),  # type: ignore[call-arg]  # no such field
    ],
)
def test_bad_arguments_raise_type_error(make: object) -> None:
    with pytest.raises(TypeError):
        make()  # type: ignore[operator]


def test_subclass_adds_fields_after_its_base() -> None:
    assert field_names(More) == ("name", "tags", "note", "extra")
    assert More(name="a", extra=2).extra == 2


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    options = Options(name="a", tags=["x"])
    changed = replace(options, note="n")
    assert changed == Options(name="a", tags=["x"], note="n")
    assert options.note == "none"
    with pytest.raises(TypeError, match="no field 'nope'"):
        replace(options, nope=1)


def test_repr_names_the_fields() -> None:
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"


def test_deep_copy_is_equal_and_separate() -> None:
    original = More(name="a", tags=["t"])
    copied = copy.deepcopy(original)
    assert copied == original
    assert copied.tags is not original.tags


def test_a_mutable_record_cannot_extend_a_frozen_one() -> None:
    with pytest.raises(TypeError):

        class Thawed(Point, frozen=False):  # type: ignore[misc]
            z: int = 0
