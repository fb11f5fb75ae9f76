"""The example under examples/ builds both targets for two platforms, on the `default` builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import REPO, Bed, docker, run_cli


@pytest.mark.parametrize(
    ("target", "command", "expected"),
    [
        (
            "prod",
            [],
            "hello from aarch64 (prod image, built for linux/arm64, RUN step ran on aarch64)",
        ),
        ("dev", ["sh", "-c", "echo $APP_ENV $(id -u)"], "dev 0"),
    ],
)
def test_example_targets_build_and_run_on_arm64(
    bed: Bed,
    docker_config: Path,
    unique: str,
    tmp_path: Path,
    target: str,
    command: list[str],
    expected: str,
) -> None:
    ref = f"{bed.registry}/{unique}:{target}"
    result = run_cli(
        "build", str(REPO / "examples"), "--target", target, "--image", f"{bed.registry}/{unique}",
        "-t", target, "--platform", "linux/amd64,linux/arm64", "--no-push",
        "--build-arg", f"BASE={bed.base_image}", "--network", bed.run_network,
        "-o", str(tmp_path),
        env={"BUILDXPY_BUILDER": "default"},
    )  # fmt: skip
    try:
        assert result.returncode == 0, str(result)
        assert result.stdout.startswith("sha256:")
        run = ["run", "--rm", "--network", "none", "--platform", "linux/arm64", ref, *command]
        assert docker(*run).strip() == expected
    finally:
        docker("rmi", "-f", ref, check=False)
