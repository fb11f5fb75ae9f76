"""An export replaces all its files or none, whatever is in the way; so does a build's metadata."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from buildxpy.docker.runner import Completed
from buildxpy.errors import BuildxpyError
from buildxpy.file_install import scratch_beside
from tests.fakes import Call, FakeRunner
from tests.specs import export
from tests.unit.test_export import dest_of, make_settings, platform_of_call, writes_tarball


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    path = tmp_path / "dist"
    path.mkdir()
    old = path / "app-linux-amd64.tar"
    old.write_bytes(b"OLD")
    os.utime(old, (1_000_000, 1_000_000))
    return path


def _untouched(dist: Path, *others: str) -> None:
    old = dist / "app-linux-amd64.tar"
    assert old.read_bytes() == b"OLD"
    assert old.stat().st_mtime == 1_000_000
    assert sorted(p.name for p in dist.iterdir()) == sorted(["app-linux-amd64.tar", *others])


def test_a_directory_at_a_tarball_path_is_refused_before_any_build(
    tmp_path: Path, dist: Path, fake: FakeRunner
) -> None:
    (dist / "app-linux-arm64.tar").mkdir()
    fake.on("buildx", "build", answer=writes_tarball)
    settings = make_settings(tmp_path, image="app", platforms=["linux/amd64", "linux/arm64"])

    with pytest.raises(BuildxpyError) as info:
        export(settings, runner=fake)

    assert str(info.value) == (
        f"cannot export to {dist / 'app-linux-arm64.tar'}: a directory is in the way"
    )
    assert fake.calls == []
    _untouched(dist, "app-linux-arm64.tar")


def test_a_directory_at_a_single_tarball_path_is_refused(tmp_path: Path, fake: FakeRunner) -> None:
    (tmp_path / "dist" / "app-linux-amd64.tar").mkdir(parents=True)
    settings = make_settings(tmp_path, image="app", platforms=["linux/amd64"])
    with pytest.raises(BuildxpyError, match=r"app-linux-amd64\.tar: a directory is in the way$"):
        export(settings, runner=fake)
    assert fake.calls == []


def test_a_rename_that_fails_puts_back_every_earlier_file(
    tmp_path: Path, dist: Path, fake: FakeRunner
) -> None:
    """Something appears in the way while the builds run: the files already renamed go back."""

    def build(call: Call) -> Completed:
        if platform_of_call(call) == "linux/arm64":
            (dist / "app-linux-arm64.tar").mkdir()
        return writes_tarball(call)

    fake.on("buildx", "build", answer=build)
    settings = make_settings(tmp_path, image="app", platforms=["linux/amd64", "linux/arm64"])

    with pytest.raises(BuildxpyError) as info:
        export(settings, runner=fake)

    assert str(info.value).startswith(f"cannot write {dist / 'app-linux-arm64.tar'}: ")
    assert str(info.value).endswith("; no file was replaced")
    _untouched(dist, "app-linux-arm64.tar")
    assert len(fake.find("buildx", "build")) == 2


def test_a_new_file_renamed_before_a_failure_is_removed(tmp_path: Path, fake: FakeRunner) -> None:
    dist = tmp_path / "dist"

    def build(call: Call) -> Completed:
        if platform_of_call(call) == "linux/arm64":
            (dist / "app-linux-arm64.tar").mkdir()
        return writes_tarball(call)

    fake.on("buildx", "build", answer=build)
    settings = make_settings(tmp_path, image="app", platforms=["linux/amd64", "linux/arm64"])
    with pytest.raises(BuildxpyError):
        export(settings, runner=fake)
    assert sorted(p.name for p in dist.iterdir()) == ["app-linux-arm64.tar"]


def test_the_cli_says_it_in_one_line(
    tmp_path: Path,
    dist: Path,
    cli_fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (dist / "app-linux-arm64.tar").mkdir()
    monkeypatch.chdir(tmp_path)
    code = cli.main(
        ["export", "--image", "app", "--platform", "linux/amd64,linux/arm64", "-o", "dist"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert (
        err
        == "buildxpy: error: cannot export to dist/app-linux-arm64.tar: a directory is in the way\n"
    )
    assert cli_fake.calls == []
    _untouched(dist, "app-linux-arm64.tar")


def test_a_directory_at_the_build_metadata_path_is_refused_before_the_build(
    tmp_path: Path,
    cli_fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "dist" / "build-metadata.json").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["build", "--image", "app", "--platform", "linux/amd64"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == (
        "buildxpy: error: cannot write the build metadata to dist/build-metadata.json: "
        "a directory is in the way\n"
    )
    assert cli_fake.find("buildx", "build") == []


def test_metadata_that_cannot_be_put_in_place_is_one_line(
    tmp_path: Path,
    cli_fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.chdir(tmp_path)
    final = tmp_path / "dist" / "build-metadata.json"

    def build(call: Call) -> Completed:
        Path(call.args[call.args.index("--metadata-file") + 1]).write_text(
            '{"containerimage.digest": "sha256:' + "a" * 64 + '"}'
        )
        final.mkdir()
        return Completed(0)

    cli_fake.on("buildx", "build", answer=build)
    code = cli.main(["build", "--image", "app", "--platform", "linux/amd64"])
    err = capsys.readouterr().err
    assert code == 1
    last = err.splitlines()[-1]
    assert last == (
        "buildxpy: error: cannot write the build metadata to dist/build-metadata.json: "
        "Is a directory; it was not replaced"
    )
    assert "bug" not in err
    assert sorted(p.name for p in final.parent.iterdir()) == ["build-metadata.json"]


def test_dest_of_is_where_the_fake_writes(tmp_path: Path) -> None:
    call = Call(
        ["docker", "buildx", "build", "--output", f"type=docker,dest={tmp_path}/x"],
        None,
        {},
        True,
        None,
    )
    assert dest_of(call) == tmp_path / "x"


@pytest.mark.parametrize(
    ("final", "prefix"),
    [("build-metadata.json", ".build-metadata-"), (".linux-arm64.metadata.json", ".linux-arm64.metadata-")],
)  # fmt: skip
def test_a_scratch_file_is_hidden_beside_its_target_and_gone_after(
    tmp_path: Path, final: str, prefix: str
) -> None:
    with scratch_beside(tmp_path / final) as scratch:
        assert scratch.parent == tmp_path
        assert scratch.name.startswith(prefix)
        assert scratch.suffix == ".json"
        assert scratch.is_file()
    assert not scratch.exists()
    assert list(tmp_path.iterdir()) == []
