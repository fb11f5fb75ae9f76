"""``buildxpy pin``: the lock written from what the registry serves, bases added and kept, moved
with --update, checked with --check; every registry read through the runner."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from tests.fakes import FakeRunner
from tests.unit.test_manifest import AMD64, ARM64, answer_raw, digest_of, index_of

RECORDED = Path(__file__).parents[1] / "data" / "recorded"
BOTH = index_of(("linux/amd64", AMD64), ("linux/arm64", ARM64))
AMD64_ONLY = index_of(("linux/amd64", AMD64))
APP, TOOLS = "r.example/app:1", "r.example/tools:2"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "buildxpy.toml").write_text('platforms = ["linux/amd64", "linux/arm64"]\n')
    (tmp_path / "Dockerfile").write_text(
        f"FROM {TOOLS} AS tools\nFROM {APP}\nCOPY --from=tools /x /x\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def locked(project: Path) -> dict[str, str]:
    lock = tomllib.loads((project / "buildxpy.lock").read_text())
    return {ref: entry["digest"] for ref, entry in lock["bases"].items()}


def asked(fake: FakeRunner) -> list[str]:
    return sorted(call.args[3] for call in fake.find("buildx", "imagetools", "inspect"))


def test_pin_writes_every_base_the_target_needs(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, AMD64_ONLY)
    assert cli.main(["pin"]) == 0
    assert (
        capsys.readouterr().out == f"{APP}  {digest_of(BOTH)}\n{TOOLS}  {digest_of(AMD64_ONLY)}\n"
    )
    lock = tomllib.loads((project / "buildxpy.lock").read_text())
    assert lock["bases"][APP] == {
        "digest": digest_of(BOTH), "platforms": {"linux/amd64": AMD64, "linux/arm64": ARM64},
    }  # fmt: skip
    # Through the builder a build uses, so its registry settings apply.
    assert all(call.args[-2:] == ["--builder", "buildxpy"] for call in cli_fake.calls)


def test_a_second_pin_adds_what_the_lock_lacks_and_keeps_the_rest(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    (project / "Dockerfile").write_text(f"FROM {APP}\n")
    assert cli.main(["pin"]) == 0
    # The tag moves; the pin does not, until --update.
    answer_raw(cli_fake, APP, AMD64_ONLY)
    answer_raw(cli_fake, TOOLS, AMD64_ONLY)
    (project / "Dockerfile").write_text(
        f"FROM {TOOLS} AS tools\nFROM {APP}\nCOPY --from=tools / /\n"
    )
    capsys.readouterr()
    cli_fake.calls.clear()
    assert cli.main(["pin"]) == 0
    assert asked(cli_fake) == [TOOLS]
    assert capsys.readouterr().out == (
        f"{APP}  {digest_of(BOTH)}\n{TOOLS}  {digest_of(AMD64_ONLY)}  (added)\n"
    )
    assert locked(project) == {APP: digest_of(BOTH), TOOLS: digest_of(AMD64_ONLY)}


def test_pins_of_another_target_are_kept(cli_fake: FakeRunner, project: Path) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    (project / "Dockerfile").write_text(f"FROM {TOOLS} AS tools\nFROM {APP} AS app\n")
    assert cli.main(["pin", "--target", "tools"]) == 0
    assert cli.main(["pin", "--target", "app"]) == 0
    assert set(locked(project)) == {APP, TOOLS}


def test_nothing_is_rewritten_when_nothing_is_added(cli_fake: FakeRunner, project: Path) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    assert cli.main(["pin"]) == 0
    lock = project / "buildxpy.lock"
    lock.write_text(lock.read_text() + "# a note of the team's\n")
    cli_fake.calls.clear()
    assert cli.main(["pin"]) == 0
    assert cli_fake.calls == []
    assert lock.read_text().endswith("# a note of the team's\n")


def test_update_moves_the_pins_and_drops_what_is_no_longer_used(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    assert cli.main(["pin"]) == 0
    answer_raw(cli_fake, APP, AMD64_ONLY)
    (project / "Dockerfile").write_text(f"FROM {APP}\n")
    capsys.readouterr()
    assert cli.main(["pin", "--update"]) == 0
    out, err = capsys.readouterr()
    assert out == f"{APP}  {digest_of(AMD64_ONLY)}  (was {digest_of(BOTH)[:19]}…)\n"
    assert err == f"pin: dropped from buildxpy.lock, no longer used: {TOOLS}\n"
    assert locked(project) == {APP: digest_of(AMD64_ONLY)}


def test_check_passes_when_every_pin_holds(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    assert cli.main(["pin"]) == 0
    before = (project / "buildxpy.lock").read_text()
    capsys.readouterr()
    assert cli.main(["pin", "--check"]) == 0
    assert (
        capsys.readouterr().out
        == "pin --check: all 2 base(s) hold the digests buildxpy.lock pins\n"
    )
    assert (project / "buildxpy.lock").read_text() == before


def test_check_names_every_base_that_moved_or_is_not_pinned_in_one_line(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    (project / "Dockerfile").write_text(f"FROM {APP}\n")
    assert cli.main(["pin"]) == 0
    answer_raw(cli_fake, APP, AMD64_ONLY)
    (project / "Dockerfile").write_text(
        f"FROM {TOOLS} AS tools\nFROM {APP}\nCOPY --from=tools / /\n"
    )
    capsys.readouterr()
    cli_fake.calls.clear()
    assert cli.main(["pin", "--check"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        f"buildxpy: error: pin --check: {APP} moved (locked {digest_of(BOTH)[:19]}…, "
        f"now {digest_of(AMD64_ONLY)[:19]}…); {TOOLS} is not pinned (run buildxpy pin)"
    )
    assert asked(cli_fake) == [APP]


def test_check_names_a_base_the_registry_no_longer_has(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    assert cli.main(["pin"]) == 0
    missing = (RECORDED / "error-v0.29.1-imagetools-missing.txt").read_text()
    cli_fake.on("buildx", "imagetools", "inspect", TOOLS, exit_code=1, stderr=missing)
    capsys.readouterr()
    assert cli.main(["pin", "--check"]) == 1
    assert capsys.readouterr().err == (
        f"buildxpy: error: pin --check: {TOOLS} does not exist in its registry\n"
    )


def test_check_without_a_lock_says_so(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["pin", "--check"]) == 1
    assert capsys.readouterr().err == (
        f"buildxpy: error: pin --check: there is no {project / 'buildxpy.lock'}: run buildxpy pin\n"
    )
    assert cli_fake.calls == []


def test_check_json(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    assert cli.main(["pin"]) == 0
    answer_raw(cli_fake, APP, AMD64_ONLY)
    capsys.readouterr()
    assert cli.main(["pin", "--check", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False
    assert out["bases"][APP] == {"status": "moved", "locked": digest_of(BOTH),
                                 "now": digest_of(AMD64_ONLY), "reason": None}  # fmt: skip
    assert out["bases"][TOOLS]["status"] == "holds"


def test_pin_json(cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    assert cli.main(["pin", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lock_file"] == str(project / "buildxpy.lock")
    assert out["written"] is True
    assert out["bases"][APP] == {"digest": digest_of(BOTH), "change": "added",
                                 "platforms": {"linux/amd64": AMD64, "linux/arm64": ARM64}}  # fmt: skip
    assert out["dropped"] == []


def test_a_base_named_by_digest_is_left_out(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    (project / "Dockerfile").write_text(f"FROM r.example/tools@{AMD64} AS tools\nFROM {APP}\n"
                                        "COPY --from=tools / /\n")  # fmt: skip
    assert cli.main(["pin"]) == 0
    assert locked(project) == {APP: digest_of(BOTH)}
    assert asked(cli_fake) == [APP]


def test_a_lone_image_is_pinned_with_the_platform_of_its_config(
    cli_fake: FakeRunner, project: Path
) -> None:
    manifest = (RECORDED / "imagetools-raw-v0.29.1-image-manifest.json").read_text()
    config = (RECORDED / "imagetools-image-config-v0.29.1-amd64.json").read_text()
    (project / "Dockerfile").write_text(f"FROM {APP}\n")
    answer_raw(cli_fake, APP, manifest)
    at = f"r.example/app@{digest_of(manifest)}"
    cli_fake.on("buildx", "imagetools", "inspect", at, "--format", stdout=config)
    assert cli.main(["pin", "--platform", "linux/amd64"]) == 0
    lock = tomllib.loads((project / "buildxpy.lock").read_text())
    assert lock["bases"][APP] == {
        "digest": digest_of(manifest), "platforms": {"linux/amd64": digest_of(manifest)},
    }  # fmt: skip


def test_a_base_that_cannot_be_read_writes_nothing(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = (RECORDED / "error-v0.29.1-imagetools-missing.txt").read_text()
    answer_raw(cli_fake, APP, BOTH)
    cli_fake.on("buildx", "imagetools", "inspect", TOOLS, exit_code=1, stderr=missing)
    assert cli.main(["pin"]) == 1
    assert capsys.readouterr().err == (
        f"buildxpy: error: cannot pin: {TOOLS} does not exist in its registry\n"
    )
    assert not (project / "buildxpy.lock").exists()


def test_the_default_builder_before_setup_is_read_without(
    cli_fake: FakeRunner, project: Path
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    for ref in (APP, TOOLS):
        cli_fake.on("buildx", "imagetools", "inspect", ref, "--raw", "--builder", "buildxpy",
                    exit_code=1, stderr='ERROR: no builder "buildxpy" found\n')  # fmt: skip
    assert cli.main(["pin"]) == 0
    assert set(locked(project)) == {APP, TOOLS}


def test_a_named_builder_that_does_not_exist_is_one_line(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_fake.on("buildx", "imagetools", "inspect", exit_code=1,
                stderr='ERROR: no builder "elsewhere" found\n')  # fmt: skip
    assert cli.main(["pin", "--builder", "elsewhere"]) == 1
    assert "builder 'elsewhere' does not exist" in capsys.readouterr().err
    assert not (project / "buildxpy.lock").exists()


def test_dry_run_writes_nothing(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    assert cli.main(["--dry-run", "pin"]) == 0
    assert not (project / "buildxpy.lock").exists()
    assert f"{project / 'buildxpy.lock'} not written" in capsys.readouterr().err


def test_the_lock_lives_beside_the_configuration(
    cli_fake: FakeRunner, project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    answer_raw(cli_fake, APP, BOTH)
    answer_raw(cli_fake, TOOLS, BOTH)
    elsewhere = tmp_path_factory.mktemp("config")
    (elsewhere / "pyproject.toml").write_text('[tool.buildxpy]\nplatforms = ["linux/amd64"]\n')
    assert cli.main(["--config", str(elsewhere / "pyproject.toml"), "pin"]) == 0
    assert (elsewhere / "buildxpy.lock").is_file()
    assert not (project / "buildxpy.lock").exists()


def test_a_malformed_lock_stops_pin_in_one_line(
    cli_fake: FakeRunner, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "buildxpy.lock").write_text('[bases."a:1"]\ndigest = "latest"\n')
    assert cli.main(["pin"]) == 1
    assert capsys.readouterr().err == (
        f"buildxpy: error: {project / 'buildxpy.lock'}:1: "
        'bases."a:1" needs digest = "sha256:<64 hex digits>"\n'
    )
    assert cli_fake.calls == []
