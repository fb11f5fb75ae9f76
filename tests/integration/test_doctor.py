"""doctor and qemu install against the real engine and the kernel's binfmt_misc."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import Bed, docker, run_cli


def test_doctor_reports_the_arm64_emulator_with_the_f_flag(bed: Bed, docker_config: Path) -> None:
    result = run_cli("doctor", "--platform", "linux/arm64", "--json", "--builder", "default")
    assert result.returncode == 0, result
    report = json.loads(result.stdout)
    checks = {
        c["name"] + (" " + c["platform"] if "platform" in c else ""): c for c in report["checks"]
    }
    assert report["ok"] is True
    emulator = checks["emulator linux/arm64"]
    assert emulator["status"] == "ok"
    assert "F" in emulator["flags"]
    assert emulator["handler"] == "qemu-aarch64"
    assert checks["daemon"]["status"] == "ok"
    assert checks["buildx"]["detail"].startswith("buildx 0.")
    assert checks["builder"]["status"] == "ok"
    assert "running" in checks["builder"]["detail"]


def test_doctor_table_names_every_check(bed: Bed, docker_config: Path) -> None:
    result = run_cli("doctor", "--platform", "linux/amd64,linux/arm64,linux/arm/v7")
    assert result.returncode == 0, result
    for name in ("docker", "daemon", "buildx", "binfmt_misc", "kernel", "emulator linux/arm64"):
        assert name in result.stdout


def test_doctor_with_no_daemon_exits_1_without_traceback(bed: Bed, docker_config: Path) -> None:
    result = run_cli(
        "doctor", "--platform", "linux/arm64", "--json",
        env={"DOCKER_HOST": "unix:///nonexistent.sock"},
    )  # fmt: skip
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "buildxpy: error: checks failed: daemon"
    report = json.loads(result.stdout)
    daemon = next(c for c in report["checks"] if c["name"] == "daemon")
    assert "nonexistent.sock" in daemon["detail"]


def test_qemu_install_with_emulators_present_runs_no_container(
    bed: Bed, docker_config: Path
) -> None:
    result = run_cli(
        "qemu", "install", "--platform", "linux/arm64,linux/arm/v7", "--json",
        "--log-format", "json", "-v",
    )  # fmt: skip
    assert result.returncode == 0, result
    data = json.loads(result.stdout)
    assert data["installed"] == []
    assert data["already"] == ["linux/arm64", "linux/arm/v7"]
    assert '"run"' not in result.stderr


def test_qemu_install_does_not_trust_an_installer_that_exits_0(
    bed: Bed, docker_config: Path, tmp_path: Path, unique: str
) -> None:
    """An installer image that, like tonistiigi/binfmt, reports a failed registration but exits 0."""
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE\nFROM ${BASE}\n"
        'ENTRYPOINT ["/bin/sh", "-c", "echo installing: $2 cannot register '
        '/usr/bin/qemu-$2: no such file or directory >&2; echo \'{\\"supported\\":[]}\'", "binfmt"]\n'
    )
    image = f"{bed.registry}/{unique}-binfmt:test"
    docker("buildx", "build", "--builder", "default", "--build-arg", f"BASE={bed.base_image}",
           "-t", image, "--load", str(tmp_path))  # fmt: skip
    try:
        result = run_cli("qemu", "install", "--platform", "linux/s390x", "--binfmt-image", image)
        assert result.returncode == 1, result
        lines = result.stderr.strip().splitlines()
        error = next(line for line in lines if line.startswith("buildxpy: error:"))
        assert error == (
            "buildxpy: error: emulators still missing after `qemu install`: linux/s390x: "
            "no qemu-s390x handler; run: buildxpy qemu install --platform linux/s390x"
        )
        assert any("cannot register" in line for line in lines)
        assert "Traceback" not in result.stderr
    finally:
        docker("image", "rm", "-f", image, check=False)


def test_qemu_install_with_an_unpullable_image_is_one_clear_error(
    bed: Bed, docker_config: Path
) -> None:
    result = run_cli(
        "qemu", "install", "--platform", "linux/s390x", "--binfmt-image", "127.0.0.1:1/binfmt:x"
    )
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert (
        "buildxpy: error: the emulator installer 127.0.0.1:1/binfmt:x did not run (exit code 125); "
        "is the image reachable? --binfmt-image picks a mirror"
    ) in result.stderr
