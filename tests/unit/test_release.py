from __future__ import annotations

import json
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from buildxpy.cli import main as cli
from buildxpy.errors import BuildxpyError, ConfigError, ImageNotFound
from buildxpy.manifests.lists import release
from tests.fakes import FakeRunner, joined
from tests.unit.test_manifest import AMD64, ARM64, REPO, answer_raw, digest_of, index_of, sample

INDEX = sample("imagetools-raw-index-attestations.json")
INDEX_DIGEST = digest_of(INDEX)


def not_yet(fake: FakeRunner, ref: str) -> None:
    """The first look at ``ref`` finds nothing (the tag is new); later ones see the newer rules."""
    fake.on("buildx", "imagetools", "inspect", ref, "--raw", exit_code=1,
            stderr=f"ERROR: {ref}: not found\n", times=1)  # fmt: skip


@pytest.fixture(autouse=True)
def _no_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about writing manifests; verification has its own (test_verify.py)."""
    monkeypatch.setenv("BUILDXPY_VERIFY", "0")


def test_release_pins_the_source_digest_and_checks_the_result(
    tmp_path: Path, fake: FakeRunner
) -> None:
    answer_raw(fake, f"{REPO}:latest", INDEX)
    answer_raw(fake, f"{REPO}:v0.2", INDEX)
    not_yet(fake, f"{REPO}:v0.2")
    result = release("v0.2", image=REPO, runner=fake, verify=False)
    assert joined(fake.calls) == [
        f"buildx imagetools inspect {REPO}:latest --raw",
        f"buildx imagetools inspect {REPO}:v0.2 --raw",
        f"buildx imagetools create -t {REPO}:v0.2 {REPO}@{INDEX_DIGEST}",
        f"buildx imagetools inspect {REPO}:v0.2 --raw",
    ]
    assert result.digest == INDEX_DIGEST
    assert result.ref == f"{REPO}:v0.2"
    assert result.source == f"{REPO}@{INDEX_DIGEST}"
    assert result.previous is None


def test_release_already_done_writes_nothing(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:latest", INDEX)
    answer_raw(fake, f"{REPO}:v0.2", INDEX)
    result = release("v0.2", image=REPO, runner=fake, verify=False)
    assert fake.find("buildx", "imagetools", "create") == []
    assert result.previous == result.digest == INDEX_DIGEST


def test_release_moving_an_existing_tag_warns(tmp_path: Path, fake: FakeRunner) -> None:
    older = index_of(("linux/amd64", AMD64))
    answer_raw(fake, f"{REPO}:latest", INDEX)
    answer_raw(fake, f"{REPO}:v1", INDEX)
    fake.on("buildx", "imagetools", "inspect", f"{REPO}:v1", "--raw", stdout=older, times=1)
    with capture_logs() as logs:
        result = release("v1", image=REPO, runner=fake, verify=False)
    assert len(fake.find("buildx", "imagetools", "create")) == 1
    assert result.previous == digest_of(older)
    warning = next(e for e in logs if e["log_level"] == "warning")
    assert warning["event"] == "moving an existing tag"
    assert warning["old"] == digest_of(older)


def test_release_from_another_tag(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:rc", INDEX)
    answer_raw(fake, f"{REPO}:1.0", INDEX)
    not_yet(fake, f"{REPO}:1.0")
    result = release("1.0", image=REPO, from_tag="rc", runner=fake, verify=False)
    assert result.from_tag == "rc"
    assert fake.calls[0].args[3] == f"{REPO}:rc"


def test_release_notices_when_the_new_tag_differs(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:latest", INDEX)
    rewrapped = index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64))
    answer_raw(fake, f"{REPO}:v1", rewrapped)
    not_yet(fake, f"{REPO}:v1")
    with pytest.raises(BuildxpyError) as caught:
        release("v1", image=REPO, runner=fake, verify=False)
    assert str(caught.value) == (
        f"{REPO}:v1 now points at {digest_of(rewrapped)}, not at {INDEX_DIGEST} as intended"
    )


def test_release_refuses_a_missing_source_tag(tmp_path: Path, fake: FakeRunner) -> None:
    fake.on("buildx", "imagetools", "inspect", exit_code=1,
            stderr=f"ERROR: {REPO}:latest: not found\n")  # fmt: skip
    with pytest.raises(ImageNotFound) as caught:
        release("v1", image=REPO, runner=fake, verify=False)
    assert str(caught.value) == f"{REPO}:latest does not exist in its registry"
    assert fake.find("buildx", "imagetools", "create") == []


def test_release_refuses_a_single_platform_manifest(tmp_path: Path, fake: FakeRunner) -> None:
    answer_raw(fake, f"{REPO}:latest", sample("imagetools-raw-image-manifest.json"))
    with pytest.raises(BuildxpyError, match="is a single-platform manifest, not an index"):
        release("v1", image=REPO, runner=fake, verify=False)
    assert fake.find("buildx", "imagetools", "create") == []


@pytest.mark.parametrize(
    ("version", "from_tag", "message"),
    [
        ("v 1", "latest", "invalid version 'v 1'"),
        ("-v1", "latest", "invalid version '-v1'"),
        ("v1", "a/b", "invalid source tag 'a/b'"),
        ("latest", "latest", "version and source tag are both 'latest'"),
    ],
)
def test_release_refuses_bad_tags_before_any_call(
    tmp_path: Path, fake: FakeRunner, version: str, from_tag: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        release(version, image=REPO, from_tag=from_tag, runner=fake, verify=False)
    assert str(caught.value).startswith(message)
    assert fake.calls == []


def test_release_refuses_a_bad_image_before_any_call(fake: FakeRunner) -> None:
    with pytest.raises(ConfigError, match="invalid image 'Reg/App'"):
        release("v1", image="Reg/App", runner=fake, verify=False)
    with pytest.raises(ConfigError, match="a target is named by a tag"):
        release("v1", image=f"{REPO}@sha256:{'0' * 64}", runner=fake, verify=False)
    assert fake.calls == []


def test_cli_release_prints_the_digest(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDXPY_IMAGE", REPO)
    answer_raw(cli_fake, f"{REPO}:latest", INDEX)
    answer_raw(cli_fake, f"{REPO}:v0.2", INDEX)
    not_yet(cli_fake, f"{REPO}:v0.2")
    assert cli.main(["release", "v0.2", "-q"]) == 0
    assert capsys.readouterr().out == f"{INDEX_DIGEST}\n"


def test_cli_release_json_with_image_flag(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, f"{REPO}:edge", INDEX)
    answer_raw(cli_fake, f"{REPO}:2.0", INDEX)
    not_yet(cli_fake, f"{REPO}:2.0")
    assert cli.main(["release", "2.0", "--from", "edge", "--image", REPO, "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "image": REPO, "version": "2.0", "from_tag": "edge", "ref": f"{REPO}:2.0",
        "source": f"{REPO}@{INDEX_DIGEST}", "digest": INDEX_DIGEST, "previous": None,
        "dry_run": False, "verification": None,
    }  # fmt: skip


def test_cli_release_dry_run_shows_the_call_only(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, f"{REPO}:latest", INDEX)
    not_yet(cli_fake, f"{REPO}:v3")
    assert cli.main(["release", "v3", "--image", REPO, "--dry-run", "-q"]) == 0
    assert capsys.readouterr().out == (
        f"docker buildx imagetools create -t {REPO}:v3 {REPO}@{INDEX_DIGEST}\n"
    )
    assert joined(cli_fake.calls) == [
        f"buildx imagetools inspect {REPO}:latest --raw",
        f"buildx imagetools inspect {REPO}:v3 --raw",
    ]


def test_cli_release_missing_tag_is_one_line(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_fake.on("buildx", "imagetools", "inspect", exit_code=1,
                stderr=f"ERROR: {REPO}:latest: not found\n")  # fmt: skip
    assert cli.main(["release", "v3", "--image", REPO, "-q"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"buildxpy: error: {REPO}:latest does not exist in its registry\n"
    assert captured.out == ""


def test_cli_release_without_image_is_one_line(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert cli.main(["release", "v3", "-q"]) == 1
    assert capsys.readouterr().err.startswith("buildxpy: error: no image configured")
    assert cli_fake.calls == []
