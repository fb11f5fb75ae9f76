"""One nativeness rule for doctor, qemu install and builder setup, on every kind of host."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.builders.doctor import doctor
from buildxpy.builders.qemu import qemu_install
from buildxpy.errors import ConfigError
from buildxpy.platforms import emulation, names
from buildxpy.platforms.names import parse
from tests.fakes import FakeRunner

ARMV6, ARMV7 = parse("linux/arm/v6"), parse("linux/arm/v7")


@pytest.mark.parametrize(
    ("machine", "expected"),
    [("x86_64", "linux/amd64"), ("aarch64", "linux/arm64"), ("armv7l", "linux/arm/v7"),
     ("armv6l", "linux/arm/v6"), ("armv8l", "linux/arm/v7"), ("i686", "linux/386"),
     ("ppc64le", "linux/ppc64le"), ("s390x", "linux/s390x"), ("riscv64", "linux/riscv64")],
)  # fmt: skip
def test_host_platform_on_every_machine(
    machine: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("platform.machine", lambda: machine)
    assert str(names.host_platform()) == expected


def test_an_unknown_machine_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platform.machine", lambda: "pdp11")
    with pytest.raises(ConfigError, match="unknown architecture 'pdp11' of this"):
        names.host_platform()


@pytest.mark.parametrize(
    ("host", "target", "native"),
    [("linux/amd64", "linux/amd64", True), ("linux/amd64", "linux/386", True),
     ("linux/amd64", "linux/amd64/v3", True), ("linux/amd64", "linux/arm64", False),
     ("linux/arm64", "linux/arm64", True), ("linux/arm64", "linux/arm/v7", False),
     ("linux/arm/v7", "linux/arm/v6", True), ("linux/arm/v6", "linux/arm/v7", False),
     ("linux/arm/v7", "linux/arm64", False), ("linux/amd64", "windows/amd64", False)],
)  # fmt: skip
def test_the_nativeness_rule(host: str, target: str, native: bool) -> None:
    assert emulation.runs_natively(parse(host), parse(target)) is native
    wants_qemu = parse(target) in emulation.needing_qemu(parse(host), [parse(target)])
    assert wants_qemu is (not native and target.startswith("linux/"))


def test_doctor_on_an_arm_v6_host_checks_the_arm_v7_emulator(
    tmp_path: Path, fake: FakeRunner
) -> None:
    (tmp_path / "status").write_text("enabled\n")
    report = doctor([ARMV6, ARMV7], runner=fake, binfmt_dir=tmp_path, kernel="6.1", host=ARMV6)
    emulators = [c for c in report.checks if c.name == "emulator"]
    assert [(c.platform, c.status) for c in emulators] == [("linux/arm/v7", "fail")]
    assert "no qemu-arm handler" in emulators[0].detail


def test_qemu_install_on_an_arm_v6_host_registers_arm_for_v7(
    tmp_path: Path, fake: FakeRunner
) -> None:
    (tmp_path / "status").write_text("enabled\n")
    result = qemu_install([ARMV6, ARMV7], FakeRunner(dry_run=True), binfmt_dir=tmp_path, host=ARMV6)
    assert result.dry_run
    result = qemu_install([ARMV6], fake, binfmt_dir=tmp_path, host=ARMV6)
    assert (result.installed, result.already) == ([], [])
    assert fake.calls == []


def test_doctor_on_an_arm_v7_host_runs_without_an_unknown_architecture(
    tmp_path: Path, fake: FakeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("platform.machine", lambda: "armv7l")
    report = doctor([ARMV7], runner=fake, binfmt_dir=tmp_path, kernel="6.1")
    assert not [c for c in report.checks if c.name == "emulator"]
