from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def docker_config_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Unit tests never read or write the machine's ~/.docker (builder state, buildx's store)."""
    path = tmp_path_factory.mktemp("docker-config")
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    return path
