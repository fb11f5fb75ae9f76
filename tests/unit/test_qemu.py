from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.builders.qemu import BINFMT_IMAGE, qemu_install
from buildxpy.docker.runner import Completed
from buildxpy.errors import BuildxpyError, CommandFailed
from buildxpy.platforms.names import parse
from tests.fakes import Call, FakeRunner
from tests.unit.test_doctor import write_handler

AMD64 = parse("linux/amd64")
PLATFORMS = [parse("linux/amd64"), parse("linux/arm64"), parse("linux/arm/v7")]


@pytest.fixture
def binfmt(tmp_path: Path) -> Path:
    (tmp_path / "status").write_text("enabled\n")
    return tmp_path


def test_registers_only_the_missing_foreign_platforms(fake: FakeRunner, binfmt: Path) -> None:
    write_handler(binfmt, "qemu-aarch64")

    def installer(call: Call) -> Completed:
        write_handler(binfmt, "qemu-arm", flags="POCF")
        return Completed(
            0,
            stdout='{"supported":["linux/amd64","linux/arm/v7"]}\n',
            stderr="installing: arm OK\n",
        )

    fake.on("run", answer=installer)
    result = qemu_install(PLATFORMS, fake, binfmt_dir=binfmt, host=AMD64)
    assert fake.args_list() == [["run", "--privileged", "--rm", BINFMT_IMAGE, "--install", "arm"]]
    assert result.installed == ["linux/arm/v7"]
    assert result.already == ["linux/arm64"]
    assert all(c.status == "ok" for c in result.checks)


def test_nothing_to_do_runs_nothing(fake: FakeRunner, binfmt: Path) -> None:
    write_handler(binfmt, "qemu-aarch64")
    write_handler(binfmt, "qemu-arm")
    result = qemu_install(PLATFORMS, fake, binfmt_dir=binfmt, host=AMD64)
    assert fake.calls == []
    assert result.installed == []
    assert result.already == ["linux/arm64", "linux/arm/v7"]


def test_force_registers_again(fake: FakeRunner, binfmt: Path) -> None:
    write_handler(binfmt, "qemu-aarch64")
    qemu_install(
        [parse("linux/arm64")],
        fake,
        binfmt_dir=binfmt,
        host=AMD64,
        force=True,
        image="mirror/binfmt:1",
    )
    assert fake.args_list() == [
        ["run", "--privileged", "--rm", "mirror/binfmt:1", "--install", "arm64"]
    ]


def test_exit_zero_is_not_trusted(fake: FakeRunner, binfmt: Path) -> None:
    fake.on(
        "run",
        stdout='{"supported":["linux/amd64"]}\n',
        stderr='installing: arm64 cannot register "/usr/bin/qemu-aarch64" to /proc/sys/fs/binfmt_misc/register: write /proc/sys/fs/binfmt_misc/register: no such file or directory\n',
    )
    with pytest.raises(BuildxpyError) as info:
        qemu_install([parse("linux/arm64")], fake, binfmt_dir=binfmt, host=AMD64)
    assert str(info.value) == (
        "emulators still missing after `qemu install`: linux/arm64: no qemu-aarch64 handler; "
        "run: buildxpy qemu install --platform linux/arm64"
    )
    assert any("cannot register" in line for line in info.value.details)


def test_an_emulator_without_the_f_flag_is_replaced(fake: FakeRunner, binfmt: Path) -> None:
    write_handler(binfmt, "qemu-aarch64", flags="P")

    def installer(call: Call) -> Completed:
        write_handler(binfmt, "qemu-aarch64", flags="PF")
        return Completed(0)

    fake.on("run", answer=installer)
    result = qemu_install([parse("linux/arm64")], fake, binfmt_dir=binfmt, host=AMD64)
    assert result.installed == ["linux/arm64"]


def test_dry_run_prints_the_command(binfmt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeRunner(dry_run=True)
    result = qemu_install([parse("linux/riscv64")], fake, binfmt_dir=binfmt, host=AMD64)
    assert result.dry_run
    assert fake.calls == []
    assert (
        capsys.readouterr().out
        == f"docker run --privileged --rm {BINFMT_IMAGE} --install riscv64\n"
    )


def test_installer_that_cannot_run_is_one_clear_error(fake: FakeRunner, binfmt: Path) -> None:
    fake.on(
        "run",
        exit_code=125,
        stderr="Unable to find image 'x:1' locally\ndocker: Error response from daemon: pull access denied\n",
    )
    with pytest.raises(BuildxpyError) as info:
        qemu_install([parse("linux/arm64")], fake, binfmt_dir=binfmt, host=AMD64, image="x:1")
    assert str(info.value) == (
        "the emulator installer x:1 did not run (exit code 125); "
        "is the image reachable? --binfmt-image picks a mirror"
    )
    assert info.value.details[-1] == "docker: Error response from daemon: pull access denied"
    assert isinstance(info.value, CommandFailed)
    assert info.value.exit_code == 125


def test_help_names_the_pinned_image() -> None:
    from buildxpy.cli.commands.qemu import BINFMT_IMAGE_HELP

    assert BINFMT_IMAGE_HELP == BINFMT_IMAGE
