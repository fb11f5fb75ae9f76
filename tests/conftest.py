from __future__ import annotations

from collections.abc import Iterator

import pytest

from buildxpy import log, redact
from buildxpy.ci import git_queries
from tests.fakes import FakeRunner


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--buildx",
        default="system",
        help=(
            "which docker-buildx plugin the integration tests run: 'system' (the engine's own), "
            "'current' (the newest the bed unpacked), or a path to a plugin binary"
        ),
    )


@pytest.fixture(autouse=True)
def _clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never see the developer's BUILDXPY_* / DO_NOT_PUSH variables or earlier secrets."""
    import os

    for name in list(os.environ):
        if name.startswith("BUILDXPY_") and not name.startswith("BUILDXPY_BED_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("DO_NOT_PUSH", raising=False)
    # Nor the CI's own variables: tags, OCI metadata, the cache and CI outputs read them.
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "ACTIONS_", "CI_", "GITLAB_")):
            monkeypatch.delenv(name)
    log.configure("json", 1, lazy=False)
    yield
    redact.clear_secrets()
    # A build that stopped before reading its checkout leaves the git queries it started.
    git_queries.forget_prefetched()


@pytest.fixture
def fake() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def cli_fake(monkeypatch: pytest.MonkeyPatch) -> FakeRunner:
    """A fake the CLI's commands get as their runner (honouring --dry-run)."""
    from buildxpy.docker import runner

    fake = FakeRunner()

    def factory(*, dry_run: bool = False) -> FakeRunner:
        fake.dry_run = dry_run
        return fake

    monkeypatch.setattr(runner, "factory", factory)
    return fake
