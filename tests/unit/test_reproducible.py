"""--reproducible: the epoch a build takes, the builders that can honour it, and the argv."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from buildxpy.builds.argv import build_argv, by_digest_argv, export_argv
from buildxpy.builds.reproducible import reproducible_spec
from buildxpy.builds.spec import BuildSpec
from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.platforms.names import parse
from tests.fakes import FakeRunner

AMD64 = parse("linux/amd64")


def ls_line(name: str, driver: str, version: str) -> str:
    node = {"Name": f"{name}0", "Endpoint": "unix:///var/run/docker.sock", "Version": version,
            "Status": "running"}  # fmt: skip
    return json.dumps({"Name": name, "Driver": driver, "Nodes": [node]}) + "\n"


def spec(context: Path, **values: object) -> BuildSpec:
    fields: dict[str, object] = {"platforms": (AMD64,), "context": str(context),
                                 "reproducible": True, "builder": "b1", "push": True}  # fmt: skip
    return BuildSpec(**{**fields, **values})  # type: ignore[arg-type]


def test_the_variable_gives_the_epoch(tmp_path: Path) -> None:
    fake = FakeRunner().on("buildx", "ls", stdout=ls_line("b1", "docker-container", "v0.26.3"))
    done = reproducible_spec(spec(tmp_path), fake, {"SOURCE_DATE_EPOCH": "1700000000"})
    assert done.source_date_epoch == "1700000000"


def test_the_commit_gives_the_epoch_without_the_variable(tmp_path: Path) -> None:
    env = {"GIT_COMMITTER_DATE": "@1600000000 +0000", "GIT_AUTHOR_DATE": "@1500000000 +0000",
           "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@b", "PATH": "/usr/bin:/bin"}  # fmt: skip
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-q", "--allow-empty", "-m", "x"],
                   check=True, env=env)  # fmt: skip
    fake = FakeRunner().on("buildx", "ls", stdout=ls_line("b1", "docker-container", "v0.26.3"))
    assert reproducible_spec(spec(tmp_path), fake, {}).source_date_epoch == "1600000000"


def test_neither_variable_nor_checkout_is_one_clear_line(tmp_path: Path) -> None:
    fake = FakeRunner().on("buildx", "ls", stdout="")
    with pytest.raises(ConfigError, match="needs SOURCE_DATE_EPOCH or a git checkout"):
        reproducible_spec(spec(tmp_path), fake, {})


def test_a_malformed_variable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a number of seconds"):
        reproducible_spec(spec(tmp_path), FakeRunner(), {"SOURCE_DATE_EPOCH": "yesterday"})


def test_a_builder_too_old_to_rewrite_timestamps_is_named(tmp_path: Path) -> None:
    fake = FakeRunner().on("buildx", "ls", stdout=ls_line("b1", "docker-container", "v0.12.5"))
    with pytest.raises(BuildxpyError, match=r"'b1' runs BuildKit v0.12, which cannot rewrite"):
        reproducible_spec(spec(tmp_path), fake, {"SOURCE_DATE_EPOCH": "1"})


def test_the_docker_driver_can_only_write_tarballs(tmp_path: Path) -> None:
    fake = FakeRunner().on("buildx", "ls", stdout=ls_line("b1", "docker", "v0.0.0+unknown"))
    fake.on("version", stdout="26.1.5+dfsg1\n")
    with pytest.raises(BuildxpyError, match="the docker driver, whose image store cannot rewrite"):
        reproducible_spec(spec(tmp_path), fake, {"SOURCE_DATE_EPOCH": "1"})
    tarballs = reproducible_spec(spec(tmp_path), fake, {"SOURCE_DATE_EPOCH": "1"}, exporting=True)
    assert tarballs.source_date_epoch == "1"


def test_an_engine_too_old_cannot_write_tarballs_either(tmp_path: Path) -> None:
    fake = FakeRunner().on("buildx", "ls", stdout=ls_line("b1", "docker", "v0.0.0+unknown"))
    fake.on("version", stdout="25.0.3\n")
    with pytest.raises(BuildxpyError, match=r"Docker Engine 25\.0\.3, which cannot"):
        reproducible_spec(spec(tmp_path), fake, {"SOURCE_DATE_EPOCH": "1"}, exporting=True)


def test_not_asked_for_changes_nothing(tmp_path: Path) -> None:
    fake = FakeRunner()
    plain = spec(tmp_path, reproducible=False)
    assert reproducible_spec(plain, fake, {"SOURCE_DATE_EPOCH": "1"}) is plain
    assert fake.calls == []


def test_the_argv_carries_the_epoch_and_rewrites_every_output(tmp_path: Path) -> None:
    done = spec(tmp_path, source_date_epoch="1700000000")
    argv = build_argv(done, metadata_file=None, load=True)
    assert "SOURCE_DATE_EPOCH=1700000000" in argv
    assert "--push" not in argv
    assert "--load" not in argv
    outputs = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--output"]
    assert outputs == ["type=image,push=true,rewrite-timestamp=true",
                       "type=docker,rewrite-timestamp=true"]  # fmt: skip
    tar = export_argv(done, AMD64, ["r/a:1"], tmp_path / "a.tar")
    assert tar[tar.index("--output") + 1].endswith(",rewrite-timestamp=true")
    pushed = by_digest_argv(done, AMD64, "type=image,push-by-digest=true", metadata_file="m")
    assert pushed[pushed.index("--output") + 1].endswith(",rewrite-timestamp=true")


def test_a_plain_build_keeps_push_and_load(tmp_path: Path) -> None:
    argv = build_argv(spec(tmp_path, reproducible=False), metadata_file=None, load=True)
    assert argv[-3:] == ["--push", "--load", str(tmp_path)]
    assert not any("SOURCE_DATE_EPOCH" in arg for arg in argv)
