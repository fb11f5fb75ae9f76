"""buildxpy.lock: written and read back, refused when malformed, and the named contexts it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.errors import ConfigError
from buildxpy.pins.contexts import pinned_contexts
from buildxpy.pins.lockfile import Pin, read_lock, write_lock
from buildxpy.pins.resolve import resolve
from tests.fakes import FakeRunner

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
RECORDED = Path(__file__).parents[1] / "data" / "recorded"


def test_a_lock_reads_back_as_written(tmp_path: Path) -> None:
    lock = tmp_path / "buildxpy.lock"
    pins = {"debian:bookworm": Pin(A, {"linux/amd64": B}), "r.example:5000/x/y:1": Pin(B)}
    write_lock(lock, pins)
    assert read_lock(lock) == pins
    assert lock.read_text().startswith("# buildxpy.lock")
    assert [p.name for p in tmp_path.iterdir()] == ["buildxpy.lock"]


def test_no_lock_is_none(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "buildxpy.lock") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bases\n", "not TOML"),
        ("bases = 3\n", "`bases` is not a table"),
        ('[bases."a:1"]\ndigest = "latest"\n', 'bases."a:1" needs digest'),
        (f'[bases."a:1"]\ndigest = "{A}"\nplatforms = {{"linux/amd64" = "x"}}\n', "maps platforms"),
    ],
)
def test_a_malformed_lock_is_one_line_naming_it(tmp_path: Path, text: str, message: str) -> None:
    lock = tmp_path / "buildxpy.lock"
    lock.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        read_lock(lock)
    assert str(lock) in str(info.value)
    assert "\n" not in str(info.value)


def test_contexts_put_each_pinned_base_in_by_digest(tmp_path: Path) -> None:
    pins = {"debian:bookworm": Pin(A), "r.example:5000/app:1": Pin(B)}
    refs = ["debian:bookworm", "r.example:5000/app:1", f"alpine@{B}"]
    assert pinned_contexts(tmp_path / "buildxpy.lock", pins, refs) == {
        "debian:bookworm": f"docker-image://debian@{A}",
        "r.example:5000/app:1": f"docker-image://r.example:5000/app@{B}",
    }


def test_a_base_the_lock_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not pin alpine:3, busybox: run buildxpy pin"):
        pinned_contexts(tmp_path / "buildxpy.lock", {}, ["alpine:3", "busybox"])


def test_resolve_reads_the_index_and_its_platforms() -> None:
    index = (RECORDED / "imagetools-raw-v0.29.1-index.json").read_text()
    fake = FakeRunner().on("buildx", "imagetools", "inspect", "r.example/app:1", "--raw",
                           stdout=index)  # fmt: skip
    [pin] = resolve(fake, ["r.example/app:1"], None).values()
    assert pin.digest.startswith("sha256:")
    assert set(pin.platforms) == {"linux/amd64", "linux/arm64"}
