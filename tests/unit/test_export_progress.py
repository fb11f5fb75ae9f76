"""Progress of concurrent builds, through a real child process standing in for docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.docker.runner import Runner
from buildxpy.settings import model as config
from tests.specs import export

# Writes two progress lines, then the tarball to the path after `dest=`, as buildx would.
FAKE_DOCKER = """\
#!/bin/sh
for arg in "$@"; do
  case "$arg" in type=docker,dest=*) dest="${arg#type=docker,dest=}" ;; esac
done
echo "#1 [internal] load build definition from Dockerfile" >&2
echo "#1 DONE 0.0s" >&2
printf 'tarball' > "$dest"
"""


def docker_stand_in(tmp_path: Path) -> str:
    path = tmp_path / "docker"
    path.write_text(FAKE_DOCKER)
    path.chmod(0o755)
    return str(path)


def test_concurrent_builds_prefix_each_progress_line_with_the_platform(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = config.load(
        {
            "image": "app",
            "output_dir": tmp_path / "dist",
            "platforms": ["linux/amd64", "linux/arm/v7"],
        },
        cwd=tmp_path,
    )
    results = export(settings, runner=Runner(docker=docker_stand_in(tmp_path)))

    progress = [line for line in capfd.readouterr().err.splitlines() if "#1" in line]
    assert sorted(progress) == [
        "[linux/amd64] #1 DONE 0.0s",
        "[linux/amd64] #1 [internal] load build definition from Dockerfile",
        "[linux/arm/v7] #1 DONE 0.0s",
        "[linux/arm/v7] #1 [internal] load build definition from Dockerfile",
    ]
    assert [r.bytes for r in results] == [7, 7]


def test_single_build_output_is_not_prefixed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = config.load(
        {"image": "app", "output_dir": tmp_path / "dist", "platforms": ["linux/arm64"]},
        cwd=tmp_path,
    )
    export(settings, runner=Runner(docker=docker_stand_in(tmp_path)))
    progress = [line for line in capfd.readouterr().err.splitlines() if "#1" in line]
    assert progress == [
        "#1 [internal] load build definition from Dockerfile",
        "#1 DONE 0.0s",
    ]
