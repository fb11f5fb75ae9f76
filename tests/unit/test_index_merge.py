"""Merging digest records into one index: records checked against the registry first, the policy
decides, and nothing is tagged unless it is met."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from buildxpy.errors import ConfigError
from buildxpy.platforms.names import parse, parse_list
from buildxpy.split.merge import MergeRefused, merge, merge_records
from buildxpy.split.options import annotations_from, require_from
from buildxpy.split.records import DigestRecord, read_record, record_path, write_record
from tests.fake_registry import IMAGE, Registry, digest_of, index, pushed, writes
from tests.fakes import FakeRunner

PLATFORMS = ("linux/amd64", "linux/arm64", "linux/arm/v7")


def test_merge_makes_the_index_for_every_tag_with_attestations_and_annotations(
    fake: FakeRunner,
) -> None:
    Registry(fake, *PLATFORMS)
    result = merge_records(
        [pushed(p) for p in PLATFORMS], refs=[f"{IMAGE}:1.0", f"{IMAGE}:latest"],
        platforms=parse_list(PLATFORMS), annotations={"org.opencontainers.image.revision": "abc"},
        runner=fake,
    )  # fmt: skip
    [create] = writes(fake)
    assert create.args[3:9] == [
        "-t", f"{IMAGE}:1.0", "-t", f"{IMAGE}:latest",
        "--annotation", "index:org.opencontainers.image.revision=abc",
    ]  # fmt: skip
    assert create.args[9:] == [f"{IMAGE}@{digest_of(index(p))}" for p in PLATFORMS]
    assert result.platforms == list(PLATFORMS)
    assert result.attestations == 3
    assert result.digest == digest_of(index(*PLATFORMS))
    assert result.left_out == {}


def test_a_missing_platform_tags_nothing(fake: FakeRunner) -> None:
    Registry(fake, *PLATFORMS)
    with pytest.raises(MergeRefused) as caught:
        merge_records(
            [pushed(p) for p in PLATFORMS[:2]], refs=[f"{IMAGE}:1.0"],
            platforms=parse_list(PLATFORMS), runner=fake,
        )  # fmt: skip
    assert str(caught.value) == "merge refused, nothing was tagged: linux/arm/v7: no record"
    assert writes(fake) == []


def test_a_record_the_registry_does_not_have_fails_its_platform(fake: FakeRunner) -> None:
    Registry(fake, "linux/amd64")
    ghost = DigestRecord(image=IMAGE, platform="linux/arm64", digest=digest_of("gone"))
    with pytest.raises(MergeRefused, match=r"linux/arm64: .*@sha256:[0-9a-f]{64} does not exist"):
        merge_records(
            [pushed("linux/amd64"), ghost], refs=[f"{IMAGE}:1.0"],
            platforms=parse_list(["linux/amd64,linux/arm64"]), runner=fake,
        )  # fmt: skip
    assert writes(fake) == []


def test_a_record_of_the_wrong_platform_fails(fake: FakeRunner) -> None:
    Registry(fake, "linux/amd64")
    liar = DigestRecord(image=IMAGE, platform="linux/arm64", digest=digest_of(index("linux/amd64")))
    with pytest.raises(MergeRefused, match="is linux/amd64, not linux/arm64"):
        merge_records(
            [liar], refs=[f"{IMAGE}:1.0"], platforms=parse_list(["linux/arm64"]), runner=fake
        )


def test_a_list_policy_merges_what_it_allows_and_says_what_it_left_out(fake: FakeRunner) -> None:
    Registry(fake, "linux/amd64", "linux/arm64")
    result = merge_records(
        [pushed("linux/amd64"), pushed("linux/arm64")], refs=[f"{IMAGE}:1.0"],
        platforms=parse_list(PLATFORMS), require=parse_list(["linux/amd64"]), runner=fake,
    )  # fmt: skip
    assert result.platforms == ["linux/amd64", "linux/arm64"]
    assert result.left_out == {"linux/arm/v7": "no record"}
    with pytest.raises(MergeRefused, match="linux/arm/v7: no record"):
        merge_records(
            [pushed("linux/amd64")], refs=[f"{IMAGE}:1.0"], platforms=parse_list(PLATFORMS),
            require=parse_list(["linux/arm/v7"]), runner=fake,
        )  # fmt: skip


def test_records_of_unconfigured_platforms_are_left_out(fake: FakeRunner) -> None:
    Registry(fake, "linux/amd64", "linux/s390x")
    result = merge_records(
        [pushed("linux/amd64"), pushed("linux/s390x")], refs=[f"{IMAGE}:1.0"],
        platforms=parse_list(["linux/amd64"]), runner=fake,
    )  # fmt: skip
    assert result.platforms == ["linux/amd64"]
    assert result.left_out == {"linux/s390x": "not a configured platform"}


def test_records_must_agree(fake: FakeRunner) -> None:
    other = DigestRecord(
        image="127.0.0.1:5000/other", platform="linux/arm64", digest=digest_of("x")
    )
    with pytest.raises(ConfigError, match="several images"):
        merge_records([pushed("linux/amd64"), other], refs=["a:1"], platforms=[], runner=fake)
    twice = DigestRecord(image=IMAGE, platform="linux/amd64", digest=digest_of("y"))
    with pytest.raises(ConfigError, match="two records for linux/amd64"):
        merge_records(
            [pushed("linux/amd64"), twice], refs=[f"{IMAGE}:1"], platforms=[], runner=fake
        )
    assert fake.calls == []


def test_record_files_are_written_whole_and_read_back(tmp_path: Path) -> None:
    record = pushed("linux/arm/v7")
    path = record_path(tmp_path, parse("linux/arm/v7"))
    assert path == tmp_path / "digests" / "linux-arm-v7.json"
    write_record(path, record)
    assert read_record(path) == record
    assert json.loads(path.read_text()) == {
        "image": IMAGE, "platform": "linux/arm/v7", "digest": record.digest, "node": None,
        "native": None,
    }  # fmt: skip
    assert [p.name for p in path.parent.iterdir()] == ["linux-arm-v7.json"]
    path.write_text('{"image": "x", "platform": "linux/arm64", "digest": "md5:1"}')
    with pytest.raises(ConfigError, match="is not a digest record: digest: invalid digest 'md5:1'"):
        read_record(path)


def test_policy_and_annotation_flags() -> None:
    assert require_from(None) == "all"
    assert require_from("ALL") == "all"
    assert require_from("linux/amd64,linux/arm64/v8") == parse_list(["linux/amd64,linux/arm64"])
    assert annotations_from(["a.b=c=d"]) == {"a.b": "c=d"}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        annotations_from(["novalue"])
    with pytest.raises(ConfigError, match="unknown architecture"):
        require_from("linux/arm65")


def test_merge_from_a_directory_and_the_cli(
    tmp_path: Path,
    cli_fake: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    Registry(cli_fake, *PLATFORMS)
    for platform in PLATFORMS:
        write_record(record_path(tmp_path / "dist", parse(platform)), pushed(platform))
    (tmp_path / "dist" / "digests" / ".split-pending.json").write_text("{}")
    code = cli.main(
        ["merge", "--no-verify", "--platform", ",".join(PLATFORMS), "-t", "1.0", "-t", "latest",
         "--annotation", "org.opencontainers.image.title=app"]
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out == digest_of(index(*PLATFORMS)) + "\n"
    [create] = writes(cli_fake)
    assert f"{IMAGE}:1.0" in create.args
    assert "index:org.opencontainers.image.title=app" in create.args


def test_cli_merge_with_a_missing_record_exits_1_and_tags_nothing(
    tmp_path: Path,
    cli_fake: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    Registry(cli_fake, *PLATFORMS)
    write_record(record_path(tmp_path / "dist", parse("linux/amd64")), pushed("linux/amd64"))
    code = cli.main(["merge", "--platform", "linux/amd64,linux/arm64", "--image", IMAGE])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "buildxpy: error: merge refused, nothing was tagged: linux/arm64: no record\n" in err
    assert writes(cli_fake) == []


def test_api_merge_needs_records(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no digest records in"):
        merge(from_dir=tmp_path)
    with pytest.raises(ConfigError, match="no such digest record"):
        merge([tmp_path / "nope.json"])


def test_a_good_merge_is_two_docker_calls_and_a_missing_record_none(fake: FakeRunner) -> None:
    """One `--dry-run` create checks every record at once (each source's image, in order, is the
    record's platform) and gives the index's digest; one create writes every tag."""
    Registry(fake, *PLATFORMS)
    merge_records(
        [pushed(p) for p in PLATFORMS], refs=[f"{IMAGE}:1.0", f"{IMAGE}:2.0"],
        platforms=parse_list(PLATFORMS), runner=fake,
    )  # fmt: skip
    assert [c.args[2:4] for c in fake.calls] == [
        ["create", "--dry-run"], ["create", "-t"],
    ]  # fmt: skip
    fake.calls.clear()
    with pytest.raises(MergeRefused):
        merge_records(
            [pushed("linux/amd64")], refs=[f"{IMAGE}:1.0"], platforms=parse_list(PLATFORMS),
            runner=fake,
        )  # fmt: skip
    assert fake.calls == []


def test_every_registry_call_of_a_merge_goes_through_the_builder(fake: FakeRunner) -> None:
    """A registry the builder reaches over plain HTTP (its buildkitd configuration) is reached
    by imagetools only through that builder: the records' checks, the preview and the create."""
    Registry(fake, *PLATFORMS)
    ghost = DigestRecord(image=IMAGE, platform="linux/arm/v7", digest=digest_of("gone"))
    merge_records(
        [pushed("linux/amd64"), pushed("linux/arm64"), ghost], refs=[f"{IMAGE}:1.0"],
        platforms=parse_list(PLATFORMS), require=parse_list(["linux/amd64"]), runner=fake,
        builder="b1",
    )  # fmt: skip
    calls = fake.find("buildx", "imagetools")
    assert {c.args[2] for c in calls} == {"inspect", "create"}
    for call in calls:
        at = call.args.index("--builder")
        assert call.args[at + 1] == "b1", call.args


def test_a_merge_without_the_configured_builder_uses_the_current_one(
    tmp_path: Path, cli_fake: FakeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that only merges has no `buildxpy` builder: its reads and its create go through
    docker's current builder, checked or not, and nothing fails after the push for want of it."""
    monkeypatch.chdir(tmp_path)
    Registry(cli_fake, *PLATFORMS[:2])
    cli_fake.on("buildx", "inspect", "buildxpy", exit_code=1,
                stderr='ERROR: no builder "buildxpy" found\n')  # fmt: skip
    for platform in PLATFORMS[:2]:
        write_record(record_path(tmp_path / "dist", parse(platform)), pushed(platform))
    assert cli.main(["merge", "--no-verify", "--platform", ",".join(PLATFORMS[:2])]) == 0
    assert all("--builder" not in c.args for c in cli_fake.find("buildx", "imagetools"))
