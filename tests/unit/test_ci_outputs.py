from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from buildxpy import redact
from buildxpy.builds.one_build import BuildResult
from buildxpy.ci import outputs as ci_outputs
from buildxpy.cli import main as cli
from buildxpy.docker.runner import Completed
from buildxpy.errors import BuildxpyError
from buildxpy.exports.tarballs import ExportResult
from tests.fakes import Call, FakeRunner

DIGEST = "sha256:" + "c" * 64
SECRET = "hunter2-very-secret-value"


def read_github_output(path: Path) -> dict[str, str]:
    """As the Actions runner reads the file: `name=value` or `name<<DELIMITER` … `DELIMITER`."""
    values: dict[str, str] = {}
    lines = iter(path.read_text().split("\n"))
    for line in lines:
        if not line:
            continue
        if match := re.fullmatch(r"([A-Za-z_][\w-]*)<<(.+)", line):
            body = []
            for inner in lines:
                if inner == match[2]:
                    break
                body.append(inner)
            else:
                raise AssertionError(f"no closing delimiter for {match[1]}")
            values[match[1]] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values


def read_dotenv(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    output, summary = tmp_path / "github-output", tmp_path / "step-summary"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return output, summary


def metadata_file(tmp_path: Path) -> Path:
    path = tmp_path / "build-metadata.json"
    path.write_text(json.dumps({
        "containerimage.digest": DIGEST,
        "containerimage.config.digest": "sha256:" + "d" * 64,
        "image.name": "reg.example/app:1.2.3,reg.example/app:latest",
        # buildx repeats the build's arguments in its provenance: never passed on.
        "buildx.build.provenance": {"invocation": {"parameters": {"args": {"build-arg:TOKEN": SECRET}}}},
        "buildx.build.provenance/linux/arm64": {"args": SECRET},
        "buildx.build.ref": f"default/default/{SECRET}",
    }))  # fmt: skip
    return path


def build_result(tmp_path: Path) -> BuildResult:
    return BuildResult(
        digest=DIGEST,
        tags=["reg.example/app:1.2.3", "reg.example/app:latest"],
        platforms=["linux/amd64", "linux/arm64"],
        pushed=True,
        builder="default",
        metadata_file=str(metadata_file(tmp_path)),
    )


def test_build_outputs_for_github(tmp_path: Path, github: tuple[Path, Path]) -> None:
    output, summary = github
    output.write_text("earlier=kept\n")
    result = build_result(tmp_path)
    ci_outputs.publish(
        ci_outputs.build_outputs(result, "reg.example/app"),
        ci_outputs.build_summary(result, "reg.example/app"),
    )
    values = read_github_output(output)
    assert values["earlier"] == "kept"  # appended, as every step's outputs are
    assert values["digest"] == DIGEST
    assert values["imageid"] == "sha256:" + "d" * 64
    assert values["tags"] == "reg.example/app:1.2.3\nreg.example/app:latest"
    assert values["platforms"] == "linux/amd64,linux/arm64"
    assert values["image"] == "reg.example/app"
    metadata = json.loads(values["metadata"])
    assert metadata["containerimage.digest"] == DIGEST
    assert not any(key.startswith("buildx.build.provenance") for key in metadata)
    table = summary.read_text()
    assert table.startswith("### buildxpy build\n")
    assert f"| digest | `{DIGEST}` |" in table
    assert "| tags | `reg.example/app:1.2.3`<br>`reg.example/app:latest` |" in table


def test_export_outputs_name_the_tarballs(tmp_path: Path, github: tuple[Path, Path]) -> None:
    results = [
        ExportResult(platform="linux/amd64", path=Path("dist/app-linux-amd64.tar"), bytes=10,
                     tags=["app:latest-linux-amd64"]),
        ExportResult(platform="linux/arm64", path=Path("dist/app-linux-arm64.tar"), bytes=20,
                     tags=["app:latest-linux-arm64"]),
    ]  # fmt: skip
    dotenv = tmp_path / "out" / "build.env"
    ci_outputs.publish(
        ci_outputs.export_outputs(results, "app"), ci_outputs.export_summary(results), dotenv=dotenv
    )
    values = read_github_output(github[0])
    assert values["tarballs"] == "dist/app-linux-amd64.tar\ndist/app-linux-arm64.tar"
    assert json.loads(values["metadata"])[1]["bytes"] == 20
    assert "| linux/arm64 | `dist/app-linux-arm64.tar` | 20 | `app:latest-linux-arm64` |" in (
        github[1].read_text()
    )
    assert read_dotenv(dotenv) == {
        "BUILDXPY_OUT_IMAGE": "app",
        "BUILDXPY_OUT_TARBALLS": "dist/app-linux-amd64.tar,dist/app-linux-arm64.tar",
        "BUILDXPY_OUT_TAGS": "app:latest-linux-amd64,app:latest-linux-arm64",
        "BUILDXPY_OUT_PLATFORMS": "linux/amd64,linux/arm64",
    }


def test_a_value_holding_a_delimiter_like_line_stays_whole() -> None:
    entry = ci_outputs.github_output("notes", "a\nEOF\nb")
    name, delimiter = entry.split("\n", 1)[0].split("<<")
    assert name == "notes"
    assert delimiter.startswith("ghadelimiter_")
    assert entry == f"notes<<{delimiter}\na\nEOF\nb\n{delimiter}\n"


def test_outside_github_actions_nothing_is_written_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "github-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))  # set, but no GITHUB_ACTIONS=true
    ci_outputs.publish({"digest": DIGEST}, "summary")
    assert not output.exists()


def test_no_secret_reaches_any_output(tmp_path: Path, github: tuple[Path, Path]) -> None:
    redact.add_secret(SECRET)
    result = build_result(tmp_path)
    result.tags.append(f"reg.example/app:{SECRET}")  # even where a value would carry one
    dotenv = tmp_path / "build.env"
    ci_outputs.publish(
        ci_outputs.build_outputs(result, "reg.example/app"),
        ci_outputs.build_summary(result, "reg.example/app"),
        dotenv=dotenv,
    )
    for path in (*github, dotenv):
        text = path.read_text()
        assert text  # written
        assert SECRET not in text
    assert "reg.example/app:***" in read_github_output(github[0])["tags"]


def test_dotenv_is_replaced_whole(tmp_path: Path) -> None:
    dotenv = tmp_path / "build.env"
    dotenv.write_text("OLD=1\n")
    ci_outputs.publish({"digest": DIGEST, "tags": "a\nb", "metadata": "{\n}"}, "", dotenv=dotenv)
    assert dotenv.read_text() == f"BUILDXPY_OUT_DIGEST={DIGEST}\nBUILDXPY_OUT_TAGS=a,b\n"
    assert [p.name for p in tmp_path.iterdir()] == ["build.env"]


def test_unwritable_dotenv_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BuildxpyError, match=r"^cannot write .*/file/x.env: "):
        ci_outputs.publish({"digest": DIGEST}, "", dotenv=blocker / "x.env")


# ------------------------------------------------------------- from the command line


def writes_metadata(call: Call) -> Completed:
    Path(call.args[call.args.index("--metadata-file") + 1]).write_text(
        json.dumps({"containerimage.digest": DIGEST})
    )
    return Completed(0)


def test_cli_build_writes_outputs_and_dry_run_does_not(
    tmp_path: Path,
    github: tuple[Path, Path],
    cli_fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    cli_fake.on("buildx", "build", answer=writes_metadata)
    argv = ["build", "--image", "r/app", "--no-push", "--output-env", "out/build.env", "."]
    assert cli.main(["--dry-run", *argv]) == 0
    assert not github[0].exists()
    assert not (tmp_path / "out").exists()
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == DIGEST
    assert read_github_output(github[0])["digest"] == DIGEST
    assert read_dotenv(tmp_path / "out" / "build.env")["BUILDXPY_OUT_DIGEST"] == DIGEST
    monkeypatch.setenv("BUILDXPY_OUTPUT_ENV", str(tmp_path / "env-named.env"))
    assert cli.main([*argv[:-3], "."]) == 0
    assert (tmp_path / "env-named.env").is_file()


RECORDED = Path(__file__).parents[1] / "data" / "recorded"


@pytest.mark.parametrize(
    "name", sorted(p.name for p in RECORDED.glob("metadata-v*.json")), ids=lambda n: n
)
def test_real_metadata_gives_an_image_id_and_the_dotenv_names_the_file(
    tmp_path: Path, name: str
) -> None:
    """Metadata files as buildx wrote them: a multi-platform push has no config digest, and its
    image is the index (as `docker images` names it in the containerd image store)."""
    written = tmp_path / name
    written.write_text((RECORDED / name).read_text())
    meta = json.loads(written.read_text())
    result = BuildResult(
        digest=meta["containerimage.digest"], tags=["127.0.0.1:5000/x:latest"],
        platforms=["linux/amd64"], pushed=True, builder="b", metadata_file=str(written),
    )  # fmt: skip
    outputs = ci_outputs.build_outputs(result, "127.0.0.1:5000/x")
    want = meta.get("containerimage.config.digest", meta["containerimage.digest"])
    assert outputs["imageid"] == want
    assert outputs["imageid"].startswith("sha256:")
    dotenv = tmp_path / "out.env"
    ci_outputs.publish(outputs, "", environ={}, dotenv=dotenv)
    lines = dict(line.split("=", 1) for line in dotenv.read_text().splitlines())
    assert lines["BUILDXPY_OUT_METADATA"] == str(written)
    assert lines["BUILDXPY_OUT_IMAGEID"] == want
    assert "BUILDXPY_OUT_METADATA_FILE" not in lines
