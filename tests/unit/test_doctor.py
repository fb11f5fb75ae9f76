from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.builders.doctor import doctor
from buildxpy.platforms.emulation import find_handler, read_handlers
from buildxpy.platforms.names import parse
from tests.fakes import FakeRunner

VERSION_JSON = '{"Client":{"Version":"28.2.2"},"Server":{"Version":"26.1.5+dfsg1"}}\n'
BUILDX_VERSION = "github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3\n"
AMD64 = parse("linux/amd64")


def write_handler(root: Path, name: str, *, enabled: bool = True, flags: str = "PF") -> None:
    (root / name).write_text(
        ("enabled" if enabled else "disabled")
        + f"\ninterpreter /usr/libexec/qemu-binfmt/{name.removeprefix('qemu-')}-binfmt-P\n"
        f"flags: {flags}\noffset 0\nmagic 7f454c46\nmask ffffffff\n"
    )


@pytest.fixture
def binfmt(tmp_path: Path) -> Path:
    (tmp_path / "status").write_text("enabled\n")
    (tmp_path / "register").write_text("")
    return tmp_path


@pytest.fixture
def healthy(fake: FakeRunner) -> FakeRunner:
    fake.on("version", stdout=VERSION_JSON)
    fake.on("buildx", "version", stdout=BUILDX_VERSION)
    fake.on(
        "buildx",
        "ls",
        stdout=(Path(__file__).parent.parent / "data" / "buildx-ls-default.json").read_text(),
    )
    return fake


def run(
    fake: FakeRunner, binfmt: Path, *platforms: str, kernel: str = "6.1.0-18-amd64"
) -> dict[str, dict[str, object]]:
    report = doctor(
        [parse(p) for p in platforms],
        builder="default",
        runner=fake,
        binfmt_dir=binfmt,
        kernel=kernel,
        host=AMD64,
    )
    keyed = {
        c.name + (f" {c.platform}" if c.platform else ""): c.model_dump() for c in report.checks
    }
    keyed["ok"] = {"ok": report.ok}
    return keyed


def test_all_good(healthy: FakeRunner, binfmt: Path) -> None:
    write_handler(binfmt, "qemu-aarch64")
    got = run(healthy, binfmt, "linux/amd64", "linux/arm64", "linux/386")
    assert got["ok"] == {"ok": True}
    assert got["docker"]["detail"] == "docker CLI 28.2.2"
    assert got["daemon"]["detail"] == "Docker Engine 26.1.5+dfsg1"
    assert got["buildx"]["detail"] == "buildx 0.13.1+ds1"
    assert got["emulator linux/arm64"]["status"] == "ok"
    assert got["emulator linux/arm64"]["flags"] == "PF"
    assert "emulator linux/amd64" not in got  # native
    assert "emulator linux/386" not in got  # amd64 runs i386 itself
    assert got["builder"]["status"] == "ok"
    assert str(got["builder"]["detail"]).startswith("builder 'default' (docker)")


def test_missing_f_flag_fails(healthy: FakeRunner, binfmt: Path) -> None:
    write_handler(binfmt, "qemu-aarch64", flags="P")
    got = run(healthy, binfmt, "linux/arm64")
    assert got["ok"] == {"ok": False}
    assert got["emulator linux/arm64"]["status"] == "fail"
    assert "lacks the F (fix-binary) flag" in str(got["emulator linux/arm64"]["detail"])


def test_disabled_or_missing_handler_fails(healthy: FakeRunner, binfmt: Path) -> None:
    write_handler(binfmt, "qemu-arm", enabled=False)
    got = run(healthy, binfmt, "linux/arm/v7", "linux/riscv64")
    assert "qemu-arm is disabled" in str(got["emulator linux/arm/v7"]["detail"])
    assert got["emulator linux/riscv64"]["detail"] == (
        "no qemu-riscv64 handler; run: buildxpy qemu install --platform linux/riscv64"
    )


def test_binfmt_not_mounted(healthy: FakeRunner, tmp_path: Path) -> None:
    got = run(healthy, tmp_path / "missing", "linux/arm64")
    assert got["binfmt_misc"]["status"] == "fail"
    assert got["emulator linux/arm64"]["status"] == "fail"


def test_old_kernel(healthy: FakeRunner, binfmt: Path) -> None:
    got = run(healthy, binfmt, "linux/amd64", kernel="4.4.0-generic")
    assert got["kernel"]["status"] == "fail"
    assert got["ok"] == {"ok": False}


def test_daemon_down(fake: FakeRunner, binfmt: Path) -> None:
    fake.on(
        "version",
        stdout='{"Client":{"Version":"28.2.2"},"Server":null}\n',
        stderr="Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?\n",
        exit_code=1,
    )
    fake.on("buildx", "version", stdout=BUILDX_VERSION)
    got = run(fake, binfmt, "linux/amd64")
    assert got["daemon"]["status"] == "fail"
    assert "Cannot connect to the Docker daemon" in str(got["daemon"]["detail"])
    assert "builder" not in got  # nothing to ask
    assert got["ok"] == {"ok": False}


def test_missing_builder_is_a_warning(healthy: FakeRunner, binfmt: Path) -> None:
    report = doctor(
        [AMD64], builder="nope", runner=healthy,
        binfmt_dir=binfmt, kernel="6.1", host=AMD64,
    )  # fmt: skip
    builder = report.checks[-1]
    assert (builder.status, builder.detail) == (
        "warn", "builder 'nope' does not exist yet; run: buildxpy builder setup",
    )  # fmt: skip
    assert report.ok


def test_no_buildx(fake: FakeRunner, binfmt: Path) -> None:
    fake.on("version", stdout=VERSION_JSON)
    fake.on("buildx", "version", exit_code=1, stderr="docker: 'buildx' is not a docker command.\n")
    got = run(fake, binfmt, "linux/amd64")
    assert got["buildx"]["status"] == "fail"
    assert "apt-get install docker-buildx" in str(got["buildx"]["detail"])


def test_handlers_found_by_interpreter_name(binfmt: Path) -> None:
    (binfmt / "aarch64-static").write_text(
        "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OCF\noffset 0\n"
    )
    handler = find_handler(parse("linux/arm64"), read_handlers(binfmt))
    assert handler is not None
    assert handler.name == "aarch64-static"
    assert handler.fix_binary
