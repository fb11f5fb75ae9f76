from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from buildxpy.docker.runner import Completed
from tests.fakes import Call, FakeRunner

SECRET = "s3cr3t-build-value-8842"
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_TOKEN", SECRET)
    return tmp_path


def leaky_buildx(call: Call) -> Completed:
    """A build whose RUN step echoes the secret and a token into buildx's error output."""
    return Completed(
        exit_code=1,
        stderr=f"#8 RUN cat /run/secrets/tok\n#8 0.1 {SECRET}\n#8 0.2 using {TOKEN}\n"
        f"ERROR: failed to solve: process did not complete successfully: {SECRET}\n",
    )


def run_cli(fake: FakeRunner, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setattr("buildxpy.cli.commands.build.make_runner", lambda args: fake)
    return cli.main(list(argv))


@pytest.mark.parametrize("verbosity", [[], ["-v"]])
def test_secret_values_reach_no_output_log_or_argv(
    project: Path,
    fake: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    verbosity: list[str],
) -> None:
    fake.on("buildx", "build", answer=leaky_buildx)
    code = run_cli(
        fake, monkeypatch, "--log-format", "json", *verbosity, "build", "--image", "r/app",
        "--secret", "id=tok,env=APP_TOKEN", "--build-arg", f"GITHUB_TOKEN={TOKEN}",
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1
    assert "buildxpy: error:" in err
    assert "***" in err  # the leaked lines are shown, masked
    for text in (out, err):
        assert SECRET not in text
        assert TOKEN not in text
    log_lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(event["event"] == "docker" for event in log_lines)
    for call in fake.calls:
        assert SECRET not in " ".join(call.argv)
    args = fake.find("buildx", "build")[0].args
    assert args[args.index("--secret") + 1] == "id=tok,env=APP_TOKEN"


def test_dry_run_shows_the_secret_spec_not_its_value(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dry = FakeRunner(dry_run=True)
    code = run_cli(
        dry, monkeypatch, "--dry-run", "build", "--image", "r/app",
        "--secret", "id=tok,env=APP_TOKEN",
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    assert "--secret id=tok,env=APP_TOKEN" in out
    assert SECRET not in out + err
