from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from buildxpy.cli import main as cli
from buildxpy.docker.models import ImageInspect, load_json
from buildxpy.docker.runner import Completed
from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.exports.tarballs import load_tarballs, parse_loaded, platform_of
from buildxpy.platforms.names import parse
from buildxpy.settings import model as config
from tests.fakes import Call, FakeRunner
from tests.specs import export

DATA = Path(__file__).parent.parent / "data"
LOADED_TWO_TAGS = (DATA / "docker-load-two-tags.txt").read_text()
LOADED_UNTAGGED = (DATA / "docker-load-untagged.txt").read_text()


def inspect_sample(name: str) -> str:
    return (DATA / f"image-inspect-{name}.json").read_text()


def writes_tarball(call: Call) -> Completed:
    output = call.args[call.args.index("--output") + 1]
    Path(output.split("dest=", 1)[1]).write_bytes(b"tarball")
    return Completed(0)


def test_parse_loaded_reads_references_and_image_ids() -> None:
    assert parse_loaded(LOADED_TWO_TAGS) == ["exptry:latest-linux-arm64", "exptry:v1-linux-arm64"]
    assert parse_loaded(LOADED_UNTAGGED) == [
        "sha256:f0e82a9366dc63fdb54d69efb7138dab063e1d851155964d3954729ad257986f"
    ]
    assert parse_loaded("") == []


@pytest.mark.parametrize(
    ("sample", "platform"), [("linux-arm64", "linux/arm64"), ("linux-arm-v7", "linux/arm/v7")]
)
def test_platform_of_recorded_image_inspect(sample: str, platform: str) -> None:
    inspect = load_json(ImageInspect, inspect_sample(sample), what="docker image inspect")
    assert platform_of(inspect) == parse(platform)


def test_platform_of_normalizes_an_arm64_v8_variant() -> None:
    inspect = ImageInspect(Os="linux", Architecture="arm64", Variant="v8")
    assert platform_of(inspect) == parse("linux/arm64")


def test_load_tarballs_loads_each_and_reports_references(tmp_path: Path, fake: FakeRunner) -> None:
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"
    first.write_bytes(b"a")
    second.write_bytes(b"b")
    fake.on("load", "-i", str(first), stdout=LOADED_TWO_TAGS)
    fake.on("load", "-i", str(second), stdout=LOADED_UNTAGGED)

    results = load_tarballs([first, str(second)], fake)

    assert fake.args_list() == [["load", "-i", str(first)], ["load", "-i", str(second)]]
    assert [(r.path, r.refs) for r in results] == [
        (first, ["exptry:latest-linux-arm64", "exptry:v1-linux-arm64"]),
        (second, ["sha256:f0e82a9366dc63fdb54d69efb7138dab063e1d851155964d3954729ad257986f"]),
    ]


def test_load_tarballs_checks_every_file_before_any_docker_call(
    tmp_path: Path, fake: FakeRunner
) -> None:
    present = tmp_path / "a.tar"
    present.write_bytes(b"a")
    with pytest.raises(ConfigError, match=r"^no such file: .*missing\.tar$"):
        load_tarballs([present, tmp_path / "missing.tar"], fake)
    assert fake.calls == []


def test_load_that_reports_nothing_is_an_error(tmp_path: Path, fake: FakeRunner) -> None:
    tarball = tmp_path / "a.tar"
    tarball.write_bytes(b"a")
    with pytest.raises(BuildxpyError, match="reported no image"):
        load_tarballs([tarball], fake)


def export_settings(tmp_path: Path, **values: Any) -> config.Settings:
    return config.load(
        {"image": "exptry", "output_dir": tmp_path / "dist", "tags": ["latest", "v1"], **values},
        cwd=tmp_path,
    )


def test_export_load_verifies_each_loaded_platform(tmp_path: Path, fake: FakeRunner) -> None:
    fake.on("buildx", "build", answer=writes_tarball)
    fake.on("load", stdout=LOADED_TWO_TAGS)
    fake.on("image", "inspect", stdout=inspect_sample("linux-arm64"))
    settings = export_settings(tmp_path, platforms=["linux/arm64/v8"])

    results = export(settings, runner=fake, load=True)

    assert [r.loaded for r in results] == [True]
    tarball = str(tmp_path / "dist" / "exptry-linux-arm64.tar")
    assert fake.args_list()[1:] == [
        ["load", "-i", tarball],
        ["image", "inspect", "--format", "{{json .}}", "exptry:latest"],
        ["image", "inspect", "--format", "{{json .}}", "exptry:v1"],
    ]


def test_export_load_names_both_platforms_on_a_mismatch(tmp_path: Path, fake: FakeRunner) -> None:
    fake.on("buildx", "build", answer=writes_tarball)
    fake.on("load", stdout="Loaded image: exptry:latest\n")
    fake.on("image", "inspect", stdout=inspect_sample("linux-arm64"))
    settings = export_settings(tmp_path, tags=["latest"], platforms=["linux/arm/v7"])

    with pytest.raises(BuildxpyError) as info:
        export(settings, runner=fake, load=True)

    tarball = tmp_path / "dist" / "exptry-linux-arm-v7.tar"
    assert str(info.value) == (
        f"{tarball}: loaded image exptry:latest is linux/arm64, but linux/arm/v7 was exported"
    )


def test_cli_load_prints_the_references(
    tmp_path: Path, cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    tarball = tmp_path / "a.tar"
    tarball.write_bytes(b"a")
    cli_fake.on("load", stdout=LOADED_TWO_TAGS)
    assert cli.main(["load", str(tarball)]) == 0
    assert capsys.readouterr().out == "exptry:latest-linux-arm64\nexptry:v1-linux-arm64\n"


def test_cli_load_missing_file_is_exit_1(
    tmp_path: Path, cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["load", str(tmp_path / "nope.tar")]) == 1
    assert capsys.readouterr().err == f"buildxpy: error: no such file: {tmp_path / 'nope.tar'}\n"
    assert cli_fake.calls == []


def inspect_by_tag(call: Call) -> Completed:
    platform = call.args[-1].rpartition(":latest-")[2]
    return Completed(0, stdout=inspect_sample(platform))


def test_cli_export_json_and_table(
    tmp_path: Path,
    cli_fake: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    cli_fake.on("buildx", "build", answer=writes_tarball)
    cli_fake.on("load", stdout="Loaded image: exptry:latest-linux-arm-v7\n")
    cli_fake.on("image", "inspect", answer=inspect_by_tag)

    code = cli.main(
        ["export", "--image", "exptry", "--platform", "linux/arm/v7,linux/arm64",
         "--builder", "default", "--load", "--json", "--log-format", "json", "-o", "out"]
    )  # fmt: skip

    assert code == 0
    captured = capsys.readouterr()
    listed = json.loads(captured.out)
    assert {k: v for k, v in listed[0].items() if k != "report"} == {
        "platform": "linux/arm/v7", "path": "out/exptry-linux-arm-v7.tar", "bytes": 7,
        "tags": ["exptry:latest-linux-arm-v7"], "loaded": True,
    }  # fmt: skip
    # Results go to stdout alone, as every command's: the JSON, or else the table.
    assert "platform      path" not in captured.err
    builds = cli_fake.find("buildx", "build")
    assert len(builds) == 2
    cli_fake.calls.clear()
    assert cli.main(["export", "--image", "exptry", "--platform", "linux/arm/v7,linux/arm64",
                     "--builder", "default", "-o", "out"]) == 0  # fmt: skip
    table = capsys.readouterr().out
    assert "platform      path                         size  tags" in table
    assert "linux/arm/v7  out/exptry-linux-arm-v7.tar  7 B   exptry:latest-linux-arm-v7" in table
    assert all(c.args[:4] == ["buildx", "build", "--builder", "default"] for c in builds)


def test_cli_export_without_image_fails_before_docker(
    tmp_path: Path,
    cli_fake: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["export", "--platform", "linux/amd64"]) == 1
    assert capsys.readouterr().err.startswith("buildxpy: error: no image configured")
    assert cli_fake.calls == []
    assert not (tmp_path / "dist").exists()
