"""What pin, --update and --check make of a lock and of what the registry serves now."""

from __future__ import annotations

from buildxpy.errors import ImageNotFound
from buildxpy.pins.changes import Finding, add_missing, check, update
from buildxpy.pins.lockfile import Pin

A, B, C = ("sha256:" + ch * 64 for ch in "abc")


def test_add_missing_keeps_every_pin_and_adds_the_rest() -> None:
    outcome = add_missing({"x:1": Pin(A), "other:1": Pin(C)}, {"y:1": Pin(B)})
    assert outcome.pins == {"x:1": Pin(A), "other:1": Pin(C), "y:1": Pin(B)}
    assert (outcome.added, dict(outcome.moved), outcome.dropped) == (("y:1",), {}, ())


def test_update_moves_adds_and_drops() -> None:
    pinned = {"x:1": Pin(A), "gone:1": Pin(C), "same:1": Pin(B)}
    outcome = update(pinned, {"x:1": Pin(B), "new:1": Pin(A), "same:1": Pin(B)})
    assert outcome.pins == {"x:1": Pin(B), "new:1": Pin(A), "same:1": Pin(B)}
    assert dict(outcome.moved) == {"x:1": A}
    assert (outcome.added, outcome.dropped) == (("new:1",), ("gone:1",))


def test_check_finds_each_kind() -> None:
    gone = ImageNotFound("gone:1 does not exist in its registry")
    findings = check(
        {"x:1": Pin(A), "same:1": Pin(B), "gone:1": Pin(C)},
        {"x:1": Pin(B), "same:1": Pin(B), "gone:1": gone},
        ["gone:1", "new:1", "same:1", "x:1"],
    )
    assert [(f.ref, f.status) for f in findings] == [
        ("gone:1", "unreadable"), ("new:1", "not pinned"), ("same:1", "holds"), ("x:1", "moved"),
    ]  # fmt: skip
    assert [f.line() for f in findings if f.status != "holds"] == [
        "gone:1 does not exist in its registry",
        "new:1 is not pinned (run buildxpy pin)",
        f"x:1 moved (locked sha256:{'a' * 12}…, now sha256:{'b' * 12}…)",
    ]


def test_a_finding_that_holds_has_both_digests() -> None:
    assert check({"x:1": Pin(A)}, {"x:1": Pin(A)}, ["x:1"]) == [Finding("x:1", "holds", A, A)]
