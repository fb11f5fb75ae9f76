"""buildxpy pin on the bed: the lock written from the registry, --check when a tag moves, a build
that keeps taking the pinned base after its tag moved, --update."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.integration.conftest import Bed, CliResult, CliRunnerProxy, docker


@pytest.fixture
def project(bed: Bed, tmp_path: Path, unique: str) -> tuple[Path, str]:
    """A project whose Dockerfile takes a base pushed for it: all of the bed's base platforms."""
    base = f"{bed.registry}/{unique}:1"
    docker("buildx", "imagetools", "create", "-t", base, bed.base_image)
    path = tmp_path / "project"
    path.mkdir()
    (path / "Dockerfile").write_text(f"FROM {base}\nRUN true\n")
    (path / "buildxpy.toml").write_text('platforms = ["linux/amd64", "linux/arm64"]\n')
    return path, base


def digest(ref: str) -> str:
    out = docker("buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}")
    return str(json.loads(out)["digest"])


def move_to_amd64_only(base: str, bed: Bed) -> None:
    raw = json.loads(docker("buildx", "imagetools", "inspect", "--raw", bed.base_image))
    [amd64] = [m["digest"] for m in raw["manifests"] if m["platform"]["architecture"] == "amd64"]
    repo = bed.base_image.rsplit(":", 1)[0]
    docker("buildx", "imagetools", "create", "-t", base, f"{repo}@{amd64}")


def pin(cli: type[CliRunnerProxy], project: Path, *args: str) -> CliResult:
    return cli.run("pin", *args, str(project), cwd=project)


def test_pin_check_build_and_update(bed: Bed, cli: type[CliRunnerProxy],
                                    project: tuple[Path, str], unique: str) -> None:  # fmt: skip
    path, base = project
    pinned = digest(base)
    written = pin(cli, path)
    assert written.returncode == 0, str(written)
    assert written.stdout == f"{base}  {pinned}\n"
    lock = tomllib.loads((path / "buildxpy.lock").read_text())
    assert lock["bases"][base]["digest"] == pinned
    assert set(lock["bases"][base]["platforms"]) >= {"linux/amd64", "linux/arm64"}
    assert pin(cli, path, "--check").returncode == 0

    move_to_amd64_only(base, bed)
    moved = digest(base)
    checked = pin(cli, path, "--check")
    assert checked.returncode == 1, str(checked)
    assert f"pin --check: {base} moved (locked {pinned[:19]}…, now {moved[:19]}…)" in checked.stderr

    # The build still takes the pinned index, which has linux/arm64; the tag has lost it.
    built = cli.run(
        "--log-format", "json", "build", "--no-push", "--builder", "default",
        "--image", f"{bed.registry}/{unique}-app", str(path), cwd=path,
    )  # fmt: skip
    assert built.returncode == 0, str(built)
    [argv] = [json.loads(line)["argv"] for line in built.stderr.splitlines()
              if '"event": "docker"' in line and '"build"' in line]  # fmt: skip
    repo = base.rsplit(":", 1)[0]
    assert argv[argv.index("--build-context") + 1] == f"{base}=docker-image://{repo}@{pinned}"

    updated = pin(cli, path, "--update")
    assert updated.returncode == 0, str(updated)
    assert updated.stdout == f"{base}  {moved}  (was {pinned[:19]}…)\n"
    assert pin(cli, path, "--check").returncode == 0


def test_a_base_the_lock_does_not_pin_is_refused_before_building(
    bed: Bed, cli: type[CliRunnerProxy], project: tuple[Path, str], unique: str
) -> None:
    path, base = project
    assert pin(cli, path).returncode == 0
    (path / "Dockerfile").write_text(f"FROM {base}\nFROM {bed.base_image}\nRUN true\n")
    built = cli.run("build", "--no-push", "--builder", "default", "--image",
                    f"{bed.registry}/{unique}-app", str(path), cwd=path)  # fmt: skip
    assert built.returncode == 1, str(built)
    assert built.stderr.strip().splitlines()[-1] == (
        f"buildxpy: error: {path / 'buildxpy.lock'} does not pin {bed.base_image}: run buildxpy pin"
    )


def test_the_python_api_pins_checks_and_updates(bed: Bed, project: tuple[Path, str]) -> None:
    import buildxpy

    path, base = project
    lock = path / "buildxpy.lock"
    platforms = ["linux/amd64", "linux/arm64"]
    written = buildxpy.pin(path, platforms=platforms, lock=lock)
    assert list(written.pins) == [base]
    assert written.pins[base].digest == digest(base)
    buildxpy.pin(path, platforms=platforms, lock=lock, check=True)
    move_to_amd64_only(base, bed)
    with pytest.raises(buildxpy.BuildxpyError, match="moved"):
        buildxpy.pin(path, platforms=platforms, lock=lock, check=True)
    updated = buildxpy.pin(path, platforms=platforms, lock=lock, update=True)
    assert updated.moved == [base]
    assert updated.pins[base].digest == digest(base)
