from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from buildxpy.builders.buildkitd_config import (
    BuildkitdTable,
    desired_fingerprint,
    prepare,
    render,
    stored_fingerprint,
)
from buildxpy.builders.plan import load_instance
from buildxpy.docker.models import LsBuilder, load_json
from buildxpy.errors import ConfigError
from buildxpy.settings import model as settings

DATA = Path(__file__).parent.parent / "data"
# The configuration and CA file the recorded instance was created from (buildx 0.13.1).
RECORDED_CONFIG = """\
debug = true
[worker.oci]
  max-parallelism = 4
[registry."docker.io"]
  mirrors = ["mirror.gcr.io"]
[registry."reg.internal:5000"]
  http = true
  insecure = true
  ca = ["ca.pem"]
"""
RECORDED_CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ca.pem").write_text(RECORDED_CA)
    return tmp_path


def recorded_files() -> dict[str, bytes]:
    text = (DATA / "buildx-instance-buildkitd-config.json").read_text()
    return load_json(LsBuilder, text, what="recorded").nodes[0].files


def test_a_plain_http_registry_under_another_name(here: Path) -> None:
    table = BuildkitdTable.model_validate(
        {"registry": {"registry.ci.internal:5000": {"http": True}}}
    )
    assert render(table, here) == (
        "# Written by buildxpy from [builder.buildkitd]: change that table, not this file.\n"
        "\n"
        '[registry."registry.ci.internal:5000"]\n'
        "  http = true\n"
    )


def test_every_setting_renders_to_what_buildkitd_reads(here: Path) -> None:
    table = BuildkitdTable.model_validate({
        "debug": True,
        "max_parallelism": 2,
        "registry": {
            "docker.io": {"mirrors": ["mirror.gcr.io", "https://hub-cache.ci:5000/v2"]},
            "reg.internal:5000": {"insecure": True, "ca": ["certs/ca \"1\".pem"]},
        },
    })  # fmt: skip
    assert tomllib.loads(render(table, here)) == {
        "debug": True,
        "worker": {"oci": {"max-parallelism": 2}},
        "registry": {
            "docker.io": {"mirrors": ["mirror.gcr.io", "https://hub-cache.ci:5000/v2"]},
            "reg.internal:5000": {"insecure": True, "ca": [f'{here}/certs/ca "1".pem']},
        },
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"max_parallelism": 0}, "max_parallelism"),
        ({"registry": {"bad name!": {"http": True}}}, "invalid registry name 'bad name!'"),
        ({"registry": {"r.example": {"mirrors": ["not a mirror"]}}}, "invalid registry mirror"),
        ({"registry": {"r.example": {"plain": True}}}, "unknown setting"),
        ({"gc": True}, "unknown setting"),
    ],
)
def test_the_table_is_validated_with_the_configuration(
    here: Path, table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings.load({"builder": {"buildkitd": table}}, cwd=here)


def test_the_table_from_buildxpy_toml(here: Path) -> None:
    (here / "buildxpy.toml").write_text(
        "[builder.buildkitd]\nmax_parallelism = 3\n"
        '[builder.buildkitd.registry."reg.ci:5000"]\nhttp = true\n'
    )
    got = settings.load(cwd=here).builder.buildkitd
    assert got == BuildkitdTable.model_validate(
        {"max_parallelism": 3, "registry": {"reg.ci:5000": {"http": True}}}
    )


def test_prepare_writes_the_table_once(here: Path) -> None:
    table = BuildkitdTable(max_parallelism=3)
    first = prepare(None, table, here / "state", "ci")
    assert first is not None
    path = Path(first.path)
    assert path == here / "state" / "buildkitd" / "ci.toml"
    inode = path.stat().st_ino
    again = prepare(None, table, here / "state", "ci")
    assert again == first
    assert path.stat().st_ino == inode  # unchanged content: not rewritten
    changed = prepare(None, BuildkitdTable(max_parallelism=4), here / "state", "ci")
    assert changed is not None
    assert changed.fingerprint != first.fingerprint
    assert [p.name for p in path.parent.iterdir()] == ["ci.toml"]


def test_prepare_refuses_both_forms(here: Path) -> None:
    with pytest.raises(ConfigError, match="both given: use one of them"):
        prepare(here / "b.toml", BuildkitdTable(), here, "ci")


def test_what_buildx_stored_matches_the_file_it_came_from(here: Path) -> None:
    (here / "buildkitd.toml").write_text(RECORDED_CONFIG)
    assert stored_fingerprint(recorded_files()) == desired_fingerprint(here / "buildkitd.toml")
    # The same through the instance loader the planner uses.
    instance = load_instance((DATA / "buildx-instance-buildkitd-config.json").read_text())
    assert instance.nodes[0].config == desired_fingerprint(here / "buildkitd.toml")


@pytest.mark.parametrize(
    "change",
    [
        lambda here: (here / "buildkitd.toml").write_text(
            RECORDED_CONFIG.replace("mirror.gcr.io", "mirror.example")
        ),
        lambda here: (here / "buildkitd.toml").write_text(
            RECORDED_CONFIG.replace("  http = true\n", "")
        ),
        lambda here: (here / "ca.pem").write_text(RECORDED_CA.replace("fake", "other")),
    ],
    ids=["mirror", "http dropped", "CA file's content"],
)
def test_any_change_is_noticed(here: Path, change: Any) -> None:
    (here / "buildkitd.toml").write_text(RECORDED_CONFIG)
    change(here)
    assert stored_fingerprint(recorded_files()) != desired_fingerprint(here / "buildkitd.toml")


def test_a_node_without_configuration(here: Path) -> None:
    assert stored_fingerprint({}) is None
    assert stored_fingerprint({"buildkitd.toml": b"[broken"}) == "unreadable"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[broken", "is not valid TOML"),
        ('[registry."r"]\nca = ["missing.pem"]\n', "cannot read missing.pem"),
    ],
)
def test_unusable_files_are_one_clear_error(here: Path, text: str, message: str) -> None:
    (here / "b.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        desired_fingerprint(here / "b.toml")
    with pytest.raises(ConfigError, match="No such file"):
        desired_fingerprint(here / "absent.toml")
