"""The platform table against the bed's own buildx: what it refuses and what it builds are what the
table says for its version."""

from __future__ import annotations

import json
import subprocess
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from buildxpy.platforms.names import LIBRARY_NAMES
from tests.integration.conftest import Bed
from tests.unit.test_platforms import REFUSED, ROWS, Row

COLUMNS = ("0.13", "0.16", "0.20", "0.29")
PREPARED = "unable to prepare context"


@pytest.fixture(scope="module")
def probed(bed: Bed) -> dict[str, str]:
    """What the bed's buildx says to each input: its refusal, or "" when it reads the platform and
    goes on (to a context that does not exist, so nothing is built)."""

    def probe(given: str) -> str:
        done = _buildx_build(Path("/nonexistent-buildxpy-context"), given)
        assert done.returncode != 0
        return "" if PREPARED in done.stderr else done.stderr.strip()

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(
            zip((r.given for r in ROWS), pool.map(probe, (r.given for r in ROWS)), strict=True)
        )


@pytest.fixture(scope="module")
def column(probed: dict[str, str]) -> int:
    """The table's column that describes the bed's buildx. Distributions build buildx against
    their own containerd package: Debian's buildx 0.13.1 reads platforms as upstream 0.16-0.19."""
    matching = [
        i for i in range(len(COLUMNS))
        if all(r.buildx[i].startswith(REFUSED) == bool(probed[r.given]) for r in ROWS)
    ]  # fmt: skip
    assert matching, {r.given: (probed[r.given], r.buildx) for r in ROWS}
    return matching[0]


@pytest.fixture
def context(tmp_path: Path) -> Path:
    # Nothing runs in the image, so any platform builds without an emulator.
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY f /f\n")
    (tmp_path / "f").write_text("f\n")
    return tmp_path


def _buildx_build(context: Path, platforms: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "buildx", "build", "--builder", "default", "--platform", platforms, *extra,
         str(context)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_the_beds_buildx_refuses_what_the_table_says(
    bed: Bed, docker_config: Path, probed: dict[str, str], column: int
) -> None:
    refused = [r for r in ROWS if probed[r.given]]
    assert len(refused) >= 15
    for row in refused:
        assert row.buildx[column].removeprefix(REFUSED) in probed[row.given], row
        # buildxpy refuses it before any docker call (docker-library names are its own words)
        assert row.buildxpy.startswith(REFUSED) or row.given.lower() in LIBRARY_NAMES, row


def _built_platforms(tarball: Path) -> set[str]:
    with tarfile.open(tarball) as tar:

        def blob(digest: str) -> dict[str, object]:
            member = tar.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}")
            assert member is not None
            return dict(json.load(member))

        top = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        (nested,) = top["manifests"]
        entries = blob(nested["digest"])["manifests"]
        assert isinstance(entries, list)
        return {
            "/".join(p for p in (e["platform"]["os"], e["platform"]["architecture"],
                                 e["platform"].get("variant", "")) if p)
            for e in entries
        } - {"unknown/unknown"}  # fmt: skip


def _host_free(row: Row) -> bool:
    return "/" in row.given


def test_the_beds_buildx_builds_what_the_table_says(
    bed: Bed, docker_config: Path, column: int, context: Path, tmp_path: Path
) -> None:
    """One build for every input buildx and buildxpy both accept: the image index lists what buildx
    made of each. (What only buildx accepts, such as `linux/arm64/v8.1` on buildx 0.20 and later,
    the engine's BuildKit may still refuse; buildxpy refuses it before any docker call.)"""
    accepted = [
        r for r in ROWS
        if not r.buildx[column].startswith(REFUSED) and not r.buildxpy.startswith(REFUSED)
        and _host_free(r)
    ]  # fmt: skip
    assert len(accepted) >= 60
    tarball = tmp_path / "all.tar"
    done = _buildx_build(
        context, ",".join(r.given for r in accepted), "--output", f"type=oci,dest={tarball}"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert _built_platforms(tarball) == {r.buildx[column] for r in accepted}
