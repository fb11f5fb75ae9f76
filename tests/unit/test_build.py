from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from buildxpy.builds.one_build import METADATA_NAME, BuildResult, build_image, read_metadata
from buildxpy.cli import main as cli
from buildxpy.docker.models import BuildMetadata
from buildxpy.docker.runner import Completed
from buildxpy.errors import BuilderNotFound, BuildxpyError, CommandFailed
from buildxpy.settings import model as settings
from buildxpy.settings.handoff import spec_from_settings
from tests.fakes import Call, FakeRunner


def build(configured: settings.Settings, runner: FakeRunner) -> BuildResult:
    return build_image(spec_from_settings(configured), runner)


DATA = Path(__file__).parent.parent / "data"
SAMPLES = sorted(DATA.glob("metadata-*.json"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def writes_metadata(
    sample: str, exit_code: int = 0, stderr: str = ""
) -> Callable[[Call], Completed]:
    """Acts like buildx: writes the metadata file named on its command line."""

    def answer(call: Call) -> Completed:
        path = Path(call.args[call.args.index("--metadata-file") + 1])
        shutil.copy(DATA / sample, path)
        return Completed(exit_code=exit_code, stderr=stderr)

    return answer


def sample_digest(name: str) -> str:
    digest = json.loads((DATA / name).read_text())["containerimage.digest"]
    assert isinstance(digest, str)
    return digest


def test_samples_were_recorded() -> None:
    names = {p.name for p in SAMPLES}
    assert {
        "metadata-multi-push.json",
        "metadata-single-push.json",
        "metadata-multi-nopush.json",
        "metadata-single-load.json",
    } <= names


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_digest_is_read_from_each_recorded_sample(path: Path) -> None:
    metadata = read_metadata(path)
    digest = metadata.digest
    assert digest is not None
    assert digest.startswith("sha256:")
    assert len(digest) == len("sha256:") + 64
    # buildx writes the same digest into the image descriptor: two independent fields agree.
    assert metadata.descriptor is not None
    assert metadata.descriptor.digest == digest


def test_no_digest_when_buildx_wrote_none() -> None:
    assert BuildMetadata.model_validate({"buildx.build.ref": "default/default/abc"}).digest is None
    assert BuildMetadata.model_validate({"containerimage.digest": ""}).digest is None


def test_unreadable_metadata_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text("[1, 2]")
    with pytest.raises(BuildxpyError, match="not a JSON object"):
        read_metadata(bad)
    bad.write_text("{broken")
    with pytest.raises(BuildxpyError, match="cannot read the build metadata file"):
        read_metadata(bad)


def test_build_runs_exactly_one_streamed_buildx_build(project: Path, fake: FakeRunner) -> None:
    fake.on("buildx", "build", answer=writes_metadata("metadata-multi-push.json"))
    s = settings.load({"image": "127.0.0.1:5000/app", "tags": ["latest", "v1"], "verify": False})
    result = build(s, fake)
    assert len(fake.calls) == 1
    call = fake.calls[0]
    assert call.args[:2] == ["buildx", "build"]
    assert call.stream is True
    assert result.digest == sample_digest("metadata-multi-push.json")
    assert result.tags == ["127.0.0.1:5000/app:latest", "127.0.0.1:5000/app:v1"]
    assert result.platforms == ["linux/amd64", "linux/arm64"]
    assert result.pushed is True
    assert result.builder == "buildxpy"
    assert result.metadata_file == str(Path("dist") / METADATA_NAME)


def test_metadata_file_is_kept_and_the_scratch_file_is_gone(
    project: Path, fake: FakeRunner
) -> None:
    fake.on("buildx", "build", answer=writes_metadata("metadata-single-push.json"))
    build(settings.load({"image": "r/app", "output_dir": "out", "verify": False}), fake)
    scratch = Path(fake.calls[0].args[fake.calls[0].args.index("--metadata-file") + 1])
    assert scratch.parent.resolve() == (project / "out").resolve()
    assert scratch.name != METADATA_NAME
    assert not scratch.exists()
    kept = json.loads((project / "out" / METADATA_NAME).read_text())
    assert kept["containerimage.digest"] == sample_digest("metadata-single-push.json")
    assert sorted(p.name for p in (project / "out").iterdir()) == [METADATA_NAME]


def test_failed_build_keeps_the_previous_metadata(project: Path, fake: FakeRunner) -> None:
    (project / "dist").mkdir()
    (project / "dist" / METADATA_NAME).write_text('{"containerimage.digest": "sha256:old"}')
    fake.on("buildx", "build", exit_code=1, stderr="ERROR: failed to solve: exit code 2\n")
    with pytest.raises(CommandFailed) as caught:
        build(settings.load({"image": "r/app"}), fake)
    assert caught.value.stderr_tail == ["ERROR: failed to solve: exit code 2"]
    assert [p.name for p in (project / "dist").iterdir()] == [METADATA_NAME]
    assert "sha256:old" in (project / "dist" / METADATA_NAME).read_text()


def test_missing_builder_names_builder_setup(project: Path, fake: FakeRunner) -> None:
    fake.on("buildx", "build", exit_code=1, stderr='ERROR: no builder "ci" found\n')
    with pytest.raises(BuilderNotFound) as caught:
        build(settings.load({"image": "r/app", "builder": {"name": "ci"}}), fake)
    assert (
        str(caught.value) == "builder 'ci' does not exist; create it with `buildxpy builder setup`"
    )
    assert fake.args_list()[0][:4] == ["buildx", "build", "--builder", "ci"]
    assert len(fake.calls) == 1  # stderr said it: no second docker process


def test_no_push_result(project: Path, fake: FakeRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DO_NOT_PUSH", "yes")
    fake.on("buildx", "build", answer=writes_metadata("metadata-multi-nopush.json"))
    result = build(settings.load({"image": "r/app"}), fake)
    assert "--push" not in fake.calls[0].args
    assert result.pushed is False
    assert result.digest == sample_digest("metadata-multi-nopush.json")


def test_build_without_digest_warns_and_returns_none(project: Path, fake: FakeRunner) -> None:
    def cache_only(call: Call) -> Completed:
        path = Path(call.args[call.args.index("--metadata-file") + 1])
        path.write_text('{"buildx.build.ref": "b/b0/x"}')
        return Completed(0)

    fake.on("buildx", "build", answer=cache_only)
    result = build(settings.load({"image": "r/app", "push": False}), fake)
    assert result.digest is None
    assert result.metadata_file is not None


def test_dry_run_prints_and_runs_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "ctx").mkdir()
    dry = FakeRunner(dry_run=True)
    monkeypatch.setattr("buildxpy.cli.commands.build.make_runner", lambda args: dry)
    code = cli.main(["--dry-run", "build", "--image", "r/app", "--platform", "linux/arm64", "ctx"])
    out = capsys.readouterr().out
    assert code == 0
    # Only the read-only question the routing plan needs: the builder's own platform.
    assert [c.args for c in dry.calls] == [
        ["--context", "buildxpy", "info", "--format", "{{json .}}"]
    ]
    # One platform: the OCI metadata goes on the manifest, there is no index to annotate.
    assert out == (
        "docker buildx build --builder buildxpy --platform linux/arm64 -t r/app:latest "
        "--label org.opencontainers.image.title=app --label org.opencontainers.image.version=latest "
        "--annotation manifest:org.opencontainers.image.title=app "
        "--annotation manifest:org.opencontainers.image.version=latest "
        "--metadata-file dist/build-metadata.json --push ctx\n"
    )
    assert not (project / "dist").exists()


def cli_with(
    fake: FakeRunner, monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[int, list[Call]]:
    monkeypatch.setattr("buildxpy.cli.commands.build.make_runner", lambda args: fake)
    return cli.main(list(argv)), fake.calls


def test_cli_prints_the_digest_only(
    project: Path,
    fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.on("buildx", "build", answer=writes_metadata("metadata-multi-push.json"))
    code, calls = cli_with(fake, monkeypatch, "build", "--image", "r/app", "--no-verify")
    assert code == 0
    assert capsys.readouterr().out == sample_digest("metadata-multi-push.json") + "\n"
    assert len([c for c in calls if c.args[:2] == ["buildx", "build"]]) == 1


def test_cli_json(
    project: Path,
    fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.on("buildx", "build", answer=writes_metadata("metadata-single-load.json"))
    code, _ = cli_with(
        fake, monkeypatch, "build", "--image", "r/app", "--no-push", "--load",
        "--platform", "linux/amd64", "--builder", "default", "-o", "out", "--json",
    )  # fmt: skip
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert {k: printed[k] for k in BuildResult.model_fields if k != "call_output"} == {
        "digest": sample_digest("metadata-single-load.json"),
        "tags": ["r/app:latest"],
        "platforms": ["linux/amd64"],
        "pushed": False,
        "builder": "default",
        "metadata_file": str(Path("out") / METADATA_NAME),
        "verification": None,
    }
    assert printed["plan"]["routes"][0]["node"] == "default"
    [build_call] = fake.find("buildx", "build")
    args = build_call.args
    assert args[-2:] == ["--load", "."]
    assert "--push" not in args
    assert (
        Path(args[args.index("--metadata-file") + 1]).parent.resolve()
        == (project / "out").resolve()
    )


BAD_INPUT = [
    (["--platform", "linux/arm65"], "unknown architecture 'arm65'"),
    (["-t", "Not A Tag"], "invalid tag 'Not A Tag'"),
    (["-t", "r/app:bad tag"], "invalid tag"),
    (["--build-arg", "=x"], "invalid build argument '=x'"),
    (["--secret", "id=tok"], "invalid secret 'id=tok'"),
    (["--secret", "id=tok,env=NOT_SET_ANYWHERE"], "NOT_SET_ANYWHERE is not set"),
    (["--secret", "id=tok,src=/no/such/file"], "does not exist"),
    (["--image", "Upper"], "invalid image name"),
    (["--image", "r/app:with-tag"], "invalid image name"),
    (["--builder=-bad"], "invalid builder name"),
    (["no-such-dir"], "build context 'no-such-dir' is not a directory"),
    (["-f", "nope/Dockerfile"], "Dockerfile 'nope/Dockerfile' does not exist"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_INPUT, ids=[" ".join(b[0]) for b in BAD_INPUT])
def test_bad_input_is_one_line_before_any_docker_call(
    project: Path,
    fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    argv = ["build", *extra] if "--image" in extra else ["build", "--image", "r/app", *extra]
    code, calls = cli_with(fake, monkeypatch, *argv)
    err = capsys.readouterr().err
    assert code == 1
    assert calls == []
    lines = [line for line in err.splitlines() if line.startswith("buildxpy:")]
    assert len(lines) == 1
    assert lines[0].startswith("buildxpy: error: ")
    assert message in lines[0]


def test_missing_image_is_one_line(
    project: Path,
    fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, calls = cli_with(fake, monkeypatch, "build")
    assert (code, calls) == (1, [])
    assert "no image configured" in capsys.readouterr().err


def test_usage_error_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["build", "--progress", "fancy"])
    assert caught.value.code == 2


@pytest.mark.parametrize(
    "context",
    ["https://github.com/acme/app.git#main", "git@github.com:acme/app.git", "-"],
)
def test_remote_contexts_are_left_to_buildx(project: Path, fake: FakeRunner, context: str) -> None:
    build(settings.load({"image": "r/app", "context": context}), fake)
    assert fake.calls[0].args[-1] == context


def test_unwritable_output_dir_is_one_clear_error(project: Path, fake: FakeRunner) -> None:
    (project / "file").write_text("")
    with pytest.raises(BuildxpyError, match="cannot create the output directory file/sub"):
        build(settings.load({"image": "r/app", "output_dir": "file/sub"}), fake)
    assert fake.calls == []
