from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from tests.fakes import FakeRunner
from tests.unit.test_manifest import AMD64, ARM64, REPO, answer_raw, digest_of, index_of

BOTH = index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64))


@pytest.fixture(autouse=True)
def _no_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about writing manifests; verification has its own (test_verify.py)."""
    monkeypatch.setenv("BUILDXPY_VERIFY", "0")


def test_create_prints_only_the_digest(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, f"{REPO}:1", BOTH)
    assert cli.main(["manifest", "create", f"{REPO}:1", f"{REPO}:amd64", f"{REPO}:arm64"]) == 0
    assert capsys.readouterr().out == f"{digest_of(BOTH)}\n"


def test_create_docker_backend_json(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    answer_raw(cli_fake, f"{REPO}:1", BOTH)
    args = ["manifest", "create", "--backend", "docker", "--json", f"{REPO}:1", f"{REPO}:amd64"]
    assert cli.main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["backend"] == "docker"
    assert out["digest"] == digest_of(BOTH)
    assert out["sources"] == [f"{REPO}@{AMD64}"]


def test_create_dry_run_prints_the_commands(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    args = ["manifest", "create", "--backend", "docker", f"{REPO}:1", f"{REPO}:amd64"]
    assert cli.main(["--dry-run", *args]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"docker manifest rm {REPO}:1",
        f"docker manifest create --amend --insecure {REPO}:1 {REPO}@{AMD64}",
        f"docker manifest push --purge --insecure {REPO}:1",
    ]


def test_create_from_spec(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yml"
    spec.write_text(
        f"image: {REPO}:1\n"
        "manifests:\n"
        f"  - image: {REPO}:amd64\n"
        "    platform:\n"
        "      os: linux\n"
        "      architecture: amd64\n"
    )
    answer_raw(cli_fake, f"{REPO}:amd64", index_of(("linux/amd64", AMD64)))
    answer_raw(cli_fake, f"{REPO}:1", BOTH)
    assert cli.main(["manifest", "create", "--from-spec", str(spec)]) == 0
    assert capsys.readouterr().out == f"{digest_of(BOTH)}\n"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["manifest", "create", f"{REPO}:1"],
         "manifest create needs REF and at least one SOURCE (or --from-spec)"),
        (["manifest", "create", "--from-spec", "s.yaml", f"{REPO}:1"],
         "give either --from-spec FILE or REF SOURCE…, not both"),
        (["manifest", "create", "Nope:1", f"{REPO}:a"], "invalid target reference 'Nope:1'"),
        (["manifest", "inspect", "a b"], "invalid reference 'a b'"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_before_any_call(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"buildxpy: error: {error}")
    assert err.count("\n") == 1
    assert cli_fake.calls == []


def test_unknown_backend_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["manifest", "create", "--backend", "crane", "r/a:1", "r/a:2"])
    assert info.value.code == 2
    assert "invalid choice: 'crane'" in capsys.readouterr().err


def test_inspect_table(cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]) -> None:
    answer_raw(cli_fake, f"{REPO}:1", BOTH)
    assert cli.main(["manifest", "inspect", f"{REPO}:1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{REPO}:1  {digest_of(BOTH)}",
        "PLATFORM     DIGEST" + " " * 67 + "SIZE",
        f"linux/amd64  {AMD64}  476",
        f"linux/arm64  {ARM64}  476",
    ]


def test_inspect_json(cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]) -> None:
    answer_raw(cli_fake, f"{REPO}:1", BOTH)
    assert cli.main(["manifest", "inspect", "--json", f"{REPO}:1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["digest"] == digest_of(BOTH)
    assert out["is_index"] is True
    assert [(m["platform"], m["digest"]) for m in out["manifests"]] == [
        ("linux/amd64", AMD64),
        ("linux/arm64", ARM64),
    ]
