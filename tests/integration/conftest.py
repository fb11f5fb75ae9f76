"""Integration tests run against the real test bed that `scripts/bed/up` starts.

With CI=true a missing bed is a failure, never a skip.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BED_DIR = Path(os.environ.get("BUILDXPY_BED_DIR", "/run/buildxpy-bed"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Bed:
    env: Mapping[str, str]

    @property
    def registry(self) -> str:
        return self.env["BUILDXPY_BED_REGISTRY"]

    @property
    def base_image(self) -> str:
        return self.env["BUILDXPY_BED_BASE_IMAGE"]

    @property
    def run_network(self) -> str:
        return self.env.get("BUILDXPY_BED_RUN_NETWORK", "default")

    def __getitem__(self, key: str) -> str:
        return self.env[key]


def _read_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            key, eq, value = word.partition("=")
            if eq:
                env[key] = value
    return env


def _bed_problem() -> str | None:
    env_file = BED_DIR / "env"
    if not env_file.is_file():
        return f"no test bed at {BED_DIR} (run scripts/bed/up)"
    # A daemon that has just torn down a run's builders can take a while to answer again; wait
    # for it rather than fail every test of the session on one slow answer.
    deadline = time.monotonic() + 180
    problem = ""
    while time.monotonic() < deadline:
        try:
            probe = subprocess.run(
                ["docker", "version", "--format", "{{.Server.Version}}"],
                capture_output=True, text=True, check=False, timeout=30,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            problem = "no answer within 30 s"
        else:
            if probe.returncode == 0:
                return None
            problem = probe.stderr.strip()[-300:]
        time.sleep(3)
    return f"docker daemon not answering for 180 s: {problem}{_dockerd_log_tail()}"


def _dockerd_log_tail() -> str:
    log = BED_DIR / "logs" / "dockerd.log"
    if not log.is_file():
        return ""
    lines = log.read_text(errors="replace").splitlines()[-15:]
    return "\nlast lines of " + str(log) + ":\n" + "\n".join(lines)


@pytest.fixture(scope="session")
def bed() -> Bed:
    problem = _bed_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and the docker test bed is missing: {problem}", pytrace=False)
        pytest.skip(problem)
    return Bed(_read_env(BED_DIR / "env"))


def _buildx_plugin(choice: str, bed: Bed) -> Path | None:
    """The plugin binary `--buildx` names, or None for the engine's own."""
    if choice == "system":
        return None
    if choice == "current":
        current = bed.env.get("BUILDXPY_BED_BUILDX_CURRENT", "")
        if not current:
            pytest.fail("--buildx current: the bed has no current buildx (scripts/bed/install)")
        return Path(current)
    path = Path(choice)
    if not path.is_file():
        pytest.fail(f"--buildx {choice}: no such plugin binary", pytrace=False)
    return path


@pytest.fixture(scope="session")
def buildx_version(bed: Bed, docker_config: Path) -> tuple[int, ...]:
    """The (major, minor, patch) of the buildx this run tests."""
    out = subprocess.run(
        ["docker", "buildx", "version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", out)
    assert match, out
    return tuple(int(part) for part in match.groups())


@pytest.fixture(scope="session", autouse=True)
def docker_config(
    request: pytest.FixtureRequest, bed: Bed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A private DOCKER_CONFIG for the whole run: builders, contexts and logins stay in it, and
    its cli-plugins hold the buildx that `--buildx` chose."""
    path = tmp_path_factory.mktemp("docker-config")
    plugin = _buildx_plugin(str(request.config.getoption("--buildx")), bed)
    if plugin is not None:
        (path / "cli-plugins").mkdir()
        (path / "cli-plugins" / "docker-buildx").symlink_to(plugin)
    old = os.environ.get("DOCKER_CONFIG")
    os.environ["DOCKER_CONFIG"] = str(path)
    yield path
    if old is None:
        os.environ.pop("DOCKER_CONFIG", None)
    else:
        os.environ["DOCKER_CONFIG"] = old


_counter = itertools.count()


@pytest.fixture
def unique() -> str:
    """A name no other test (or earlier run) uses."""
    return f"bxp{uuid.uuid4().hex[:6]}{next(_counter)}"


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"buildxpy {' '.join(self.args)} -> {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a buildxpy process gets: this checkout's package on the path, whatever the
    working directory."""
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": pythonpath, **(extra or {})}


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 600,
) -> CliResult:
    """Run `python -m buildxpy ARGS` as a user would, in its own process."""
    full_env = cli_env(env)
    proc = subprocess.run(
        [sys.executable, "-m", "buildxpy", *args],
        env=full_env, cwd=cwd, input=input, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    return CliResult(list(args), proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(bed: Bed, docker_config: Path) -> type[CliRunnerProxy]:
    return CliRunnerProxy


class CliRunnerProxy:
    run = staticmethod(run_cli)


def docker(*args: str, check: bool = True, input: str | None = None) -> str:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=False, input=input, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def after_preflight(events: list[dict[str, Any]]) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """The preflight's reads of the base images (before anything else a build runs), and the
    docker events after them."""
    reads: list[list[str]] = []
    for event in events:
        argv = event["argv"]
        if argv[1:4] != ["buildx", "imagetools", "inspect"] or "--raw" not in argv:
            break
        reads.append(argv)
    return reads, events[len(reads) :]
