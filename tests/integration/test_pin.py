"""buildxpy pin on the bed: the lock written from the registry, --check when a tag moves, a build
that keeps taking the pinned base after its tag moved, --update, and a base the lock lacks."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.integration.conftest import Bed, CliResult, CliRunnerProxy, docker


@pytest.fixture
def project(bed: Bed, tmp_path: Path, unique: str) -> tuple[Path, str]:
    """A project whose Dockerfile takes (through an ARG) a base pushed for it: a copy of the
    bed's base, all of its platforms. Its build fails on the image the tag will move to."""
    base = f"{bed.registry}/{unique}:1"
    copy_image(bed.base_image, base)
    path = tmp_path / "project"
    path.mkdir()
    (path / "Dockerfile").write_text(f"ARG BASE={base}\nFROM $BASE\nRUN test ! -e /moved\n")
    (path / "buildxpy.toml").write_text('platforms = ["linux/amd64", "linux/arm64"]\n')
    return path, base


def copy_image(source: str, target: str) -> None:
    """The bed's registry, written to by other tests at once, now and then answers a manifest
    PUT with 400 or 500 (`unexpected status from PUT request`): such a copy is made once more."""
    argv = ["docker", "buildx", "imagetools", "create", "-t", target, source]
    for _ in range(2):
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
        if done.returncode == 0:
            return
        if "unexpected status" not in done.stderr:
            break
    raise AssertionError(f"{' '.join(argv)} failed: {done.stderr}")


def digest(ref: str) -> str:
    out = docker("buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}")
    return str(json.loads(out)["digest"])


def move(base: str, bed: Bed, tmp_path: Path) -> None:
    """The tag moves to another image: linux/amd64 only, with a /moved file."""
    other = tmp_path / "moved"
    other.mkdir()
    (other / "moved").write_text("moved\n")
    (other / "Dockerfile").write_text(f"FROM {bed.base_image}\nCOPY moved /moved\n")
    docker("buildx", "build", "--builder", "default", "--platform", "linux/amd64",
           "--provenance", "false", "--push", "-t", base, str(other))  # fmt: skip


def pin(cli: type[CliRunnerProxy], project: Path, *args: str) -> CliResult:
    return cli.run("pin", *args, str(project), cwd=project)


def build(cli: type[CliRunnerProxy], bed: Bed, project: Path, unique: str) -> CliResult:
    return cli.run(
        "--log-format", "json", "build", "--no-push", "--builder", "default",
        "--image", f"{bed.registry}/{unique}-app", str(project), cwd=project,
    )  # fmt: skip


def build_argv(result: CliResult) -> list[str]:
    [argv] = [event["argv"] for line in result.stderr.splitlines() if line.startswith("{")
              if (event := json.loads(line)).get("event") == "docker"
              and event["argv"][1:3] == ["buildx", "build"]]  # fmt: skip
    return list(argv)


def test_pin_check_build_and_update(bed: Bed, cli: type[CliRunnerProxy], tmp_path: Path,
                                    project: tuple[Path, str], unique: str) -> None:  # fmt: skip
    path, base = project
    pinned = digest(base)
    written = pin(cli, path)
    assert written.returncode == 0, str(written)
    assert written.stdout == f"{base}  {pinned}\n"
    lock = tomllib.loads((path / "buildxpy.lock").read_text())
    assert lock["bases"][base]["digest"] == pinned
    assert set(lock["bases"][base]["platforms"]) == {"linux/amd64", "linux/arm64", "linux/arm/v7"}
    held = pin(cli, path, "--check")
    assert held.returncode == 0, str(held)
    assert held.stdout == "pin --check: all 1 base(s) hold the digests buildxpy.lock pins\n"

    move(base, bed, tmp_path)
    moved = digest(base)
    assert moved != pinned
    checked = pin(cli, path, "--check")
    assert checked.returncode == 1, str(checked)
    assert checked.stderr.strip().splitlines()[-1] == (
        f"buildxpy: error: pin --check: {base} moved (locked {pinned[:19]}…, now {moved[:19]}…)"
    )

    # The build takes the pinned index: the tag's image has no linux/arm64 and has /moved, on
    # which the Dockerfile's RUN fails.
    built = build(cli, bed, path, unique)
    assert built.returncode == 0, str(built)
    argv = build_argv(built)
    repo = base.rsplit(":", 1)[0]
    assert argv[argv.index("--build-context") + 1] == f"{base}=docker-image://{repo}@{pinned}"

    # Without --update the pin stays, and the registry is not asked.
    again = pin(cli, path)
    assert (again.returncode, again.stdout) == (0, f"{base}  {pinned}\n"), str(again)
    updated = pin(cli, path, "--update")
    assert updated.returncode == 0, str(updated)
    assert updated.stdout == f"{base}  {moved}  (was {pinned[:19]}…)\n"
    assert pin(cli, path, "--check").returncode == 0

    # Now pinned to the amd64-only image: refused from the lock before anything is built.
    refused = build(cli, bed, path, unique)
    assert refused.returncode == 1, str(refused)
    assert f"{base} (pinned in buildxpy.lock) has no linux/arm64" in refused.stderr.splitlines()[-1]


def test_a_base_the_lock_does_not_pin_is_refused_before_building(
    bed: Bed, cli: type[CliRunnerProxy], project: tuple[Path, str], unique: str
) -> None:
    path, base = project
    assert pin(cli, path).returncode == 0
    (path / "Dockerfile").write_text(
        f"FROM {bed.base_image} AS tools\nFROM {base}\nCOPY --from=tools /bin/busybox /x\n"
    )
    built = cli.run("build", "--no-push", "--builder", "default", "--image",
                    f"{bed.registry}/{unique}-app", str(path), cwd=path)  # fmt: skip
    assert built.returncode == 1, str(built)
    assert built.stderr.strip().splitlines()[-1] == (
        f"buildxpy: error: {path / 'buildxpy.lock'} does not pin {bed.base_image}: run buildxpy pin"
    )
    checked = pin(cli, path, "--check")
    assert checked.returncode == 1, str(checked)
    assert checked.stderr.strip().splitlines()[-1] == (
        f"buildxpy: error: pin --check: {bed.base_image} is not pinned (run buildxpy pin)"
    )
    added = pin(cli, path)
    assert added.returncode == 0, str(added)
    lines = {f"{base}  {digest(base)}", f"{bed.base_image}  {digest(bed.base_image)}  (added)"}
    assert added.stdout == "".join(f"{line}\n" for line in sorted(lines))


def test_the_python_api_pins_checks_and_updates(
    bed: Bed, project: tuple[Path, str], tmp_path: Path
) -> None:
    import buildxpy

    path, base = project
    lock = path / "buildxpy.lock"
    platforms = ["linux/amd64", "linux/arm64"]
    pinned = digest(base)
    written = buildxpy.pin(path, platforms=platforms, lock=lock)
    assert written.added == (base,)
    assert written.pins[base].digest == pinned
    buildxpy.pin(path, platforms=platforms, lock=lock, check=True)
    move(base, bed, tmp_path)
    with pytest.raises(buildxpy.BuildxpyError, match="moved"):
        buildxpy.pin(path, platforms=platforms, lock=lock, check=True)
    updated = buildxpy.pin(path, platforms=platforms, lock=lock, update=True)
    assert updated.moved == {base: pinned}
    assert updated.pins[base].digest == digest(base)
