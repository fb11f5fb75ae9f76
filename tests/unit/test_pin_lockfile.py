"""buildxpy.lock: written and read back, all or nothing, and refused in one line naming the file
and the line when malformed; the named contexts it gives a build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.pins.contexts import pinned_contexts
from buildxpy.pins.lockfile import Pin, read_lock, render_lock, write_lock

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


def test_a_lock_reads_back_as_written(tmp_path: Path) -> None:
    lock = tmp_path / "buildxpy.lock"
    pins = {"debian:bookworm": Pin(A, {"linux/amd64": B}), "r.example:5000/x/y:1": Pin(B)}
    write_lock(lock, pins)
    assert read_lock(lock) == pins
    assert [p.name for p in tmp_path.iterdir()] == ["buildxpy.lock"]


def test_the_format_is_one_table_a_base_sorted() -> None:
    text = render_lock({"z.example/b:2": Pin(B), "a.example/a:1": Pin(A, {"linux/arm/v7": B})})
    assert text == (
        "# buildxpy.lock: the base images builds use, by digest. "
        "`buildxpy pin --update` moves them.\n"
        "\n"
        '[bases."a.example/a:1"]\n'
        f'digest = "{A}"\n'
        '[bases."a.example/a:1".platforms]\n'
        f'"linux/arm/v7" = "{B}"\n'
        "\n"
        '[bases."z.example/b:2"]\n'
        f'digest = "{B}"\n'
    )


def test_the_lock_is_readable_by_everyone_who_builds(tmp_path: Path) -> None:
    lock = tmp_path / "buildxpy.lock"
    old = os.umask(0o022)
    try:
        write_lock(lock, {"a:1": Pin(A)})
    finally:
        os.umask(old)
    assert lock.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_keeps_the_earlier_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "buildxpy.lock"
    write_lock(lock, {"a:1": Pin(A)})
    before = lock.read_text()

    def refuse(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(BuildxpyError, match=r"cannot write .*buildxpy\.lock: No space left"):
        write_lock(lock, {"a:1": Pin(B)})
    monkeypatch.undo()
    assert lock.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["buildxpy.lock"]


def test_a_lock_in_a_directory_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^cannot write .*/nowhere/buildxpy.lock: "):
        write_lock(tmp_path / "nowhere" / "buildxpy.lock", {"a:1": Pin(A)})


def test_no_lock_is_none(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "buildxpy.lock") is None


def test_an_empty_lock_pins_nothing(tmp_path: Path) -> None:
    (tmp_path / "buildxpy.lock").write_text("# nothing yet\n")
    assert read_lock(tmp_path / "buildxpy.lock") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[bases."a:1"]\ndigest = \n', ":2: not TOML: Invalid value"),
        ("bases = 3\n", ":1: `bases` is not a table"),
        ('[base."a:1"]\ndigest = "x"\n', ":1: unknown key 'base'"),
        (f'# ok\n[bases."b:1"]\ndigest = "{A}"\n[bases."a:1"]\ndigest = "latest"\n',
         ':4: bases."a:1" needs digest = "sha256:<64 hex digits>"'),
        (f'[bases."a:1"]\ndigest = "{A}"\ndigets = "{A}"\n',
         ":1: bases.\"a:1\" has an unknown key 'digets'"),
        (f'[bases."a:1"]\ndigest = "{A}"\nplatforms = {{"linux/amd64" = "x"}}\n',
         ':1: bases."a:1".platforms maps "os/arch[/variant]" to "sha256:…"'),
        (f'[bases."a:1"]\ndigest = "{A}"\nplatforms = {{"amd64" = "{B}"}}\n',
         ':1: bases."a:1".platforms maps'),
        ('bases."a:1" = 3\n', ':1: bases."a:1" is not a table'),
    ],
    ids=["toml", "not-a-table", "unknown-top", "digest", "unknown-key", "platform-digest",
         "platform-name", "entry-not-a-table"],
)  # fmt: skip
def test_a_malformed_lock_is_one_line_naming_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    lock = tmp_path / "buildxpy.lock"
    lock.write_text(text)
    with pytest.raises(ConfigError) as info:
        read_lock(lock)
    assert str(info.value).startswith(f"{lock}{message}")
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
