"""Reading manifest-tool specs: the collected real specs, and the rules manifest-tool's YAML decoder
applies (exact lowercase keys, unknown keys ignored, every value kept as the text written)."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest

from buildxpy import log
from buildxpy.errors import ConfigError
from buildxpy.manifests.spec_file import ManifestSpec, SpecPlatform, load_spec, read_spec

SPECS = Path(__file__).parent.parent / "data" / "manifest-specs"

# What manifest-tool reads from each collected spec: image, tags, then (image, platform) per entry,
# the platform written os/architecture[/variant] exactly as the spec gives it.
Read = tuple[str, list[str], list[tuple[str, str]]]
_MT = "mplatform/manifest-tool"
_PUSHML = [
    (f"{_MT}:linux_ppc64le_VERS", "linux/ppc64le"),
    (f"{_MT}:linux_amd64_VERS", "linux/amd64"),
    (f"{_MT}:linux_i386_VERS", "linux/386"),
    (f"{_MT}:linux_s390x_VERS", "linux/s390x"),
    (f"{_MT}:linux_riscv64_VERS", "linux/riscv64"),
    (f"{_MT}:linux_arm64_VERS", "linux/arm64/v8"),
    (f"{_MT}:linux_arm_v7_VERS", "linux/arm/v7"),
    (f"{_MT}:linux_arm_v6_VERS", "linux/arm/v6"),
    (f"{_MT}:win2019_VERS", "windows/amd64"),
    (f"{_MT}:win2016_VERS", "windows/amd64"),
]
READ: dict[str, Read] = {
    "manifest-tool-test-registry.yml": ("localhost:5000/mt/alpine:latest", [], [
        ("localhost:5000/mt/ppc64le_alpine:latest", "linux/ppc64le"),
        ("localhost:5000/mt/amd64_alpine:latest", "linux/amd64"),
        ("localhost:5000/mt/s390x_alpine:latest", "linux/s390x"),
        ("localhost:5000/mt/aarch64_alpine:latest", "linux/arm64/v8"),
    ]),
    "manifest-tool-test-registry-tag.yml": ("localhost:5000/alpine:latest", [], [
        ("localhost:5000/alpine:ppc64le_alpine_latest", "linux/ppc64le"),
        ("localhost:5000/alpine:amd64_alpine_latest", "linux/amd64"),
        ("localhost:5000/alpine:s390x_alpine_latest", "linux/s390x"),
        ("localhost:5000/alpine:aarch64_alpine_latest", "linux/arm64/v8"),
    ]),
    "manifest-tool-pushml.yaml": (f"{_MT}:VERS", ["latest"], _PUSHML),
    "manifest-tool-pushml-pre.yaml": (f"{_MT}:VERS", [], _PUSHML),
    "manifest-tool-pushml-alpine.yaml": (f"{_MT}:alpine-VERS", ["alpine"], [
        (f"{_MT}:alpine_linux_ppc64le_VERS", "linux/ppc64le"),
        (f"{_MT}:alpine_linux_amd64_VERS", "linux/amd64"),
        (f"{_MT}:alpine_linux_i386_VERS", "linux/386"),
        (f"{_MT}:alpine_linux_s390x_VERS", "linux/s390x"),
        (f"{_MT}:alpine_linux_arm64_VERS", "linux/arm64/v8"),
        (f"{_MT}:alpine_linux_arm_v7_VERS", "linux/arm/v7"),
        (f"{_MT}:alpine_linux_arm_v6_VERS", "linux/arm/v6"),
    ]),
    "manifest-tool-readme.yaml": ("myprivreg:5000/someimage:latest", ["1.0.0", "1.0", "1"], [
        ("myprivreg:5000/someimage:arm64", "linux/arm64"),
        ("myprivreg:5000/someimage:amd64", "linux/amd64"),
    ]),
    "drone-docker.yaml": ("plugins/docker:20.10.9", ["20", "20.10", "20.10.9"], [
        ("plugins/docker:20.10.9-linux-amd64", "linux/amd64"),
        ("plugins/docker:20.10.9-linux-arm64", "linux/arm64/v8"),
        ("plugins/docker:20.10.9-linux-arm", "linux/arm/v7"),
        ("plugins/docker:20.10.9-windows-1803-amd64", "windows/amd64"),
        ("plugins/docker:20.10.9-windows-1809-amd64", "windows/amd64"),
        ("plugins/docker:20.10.9-windows-1903-amd64", "windows/amd64"),
        ("plugins/docker:20.10.9-windows-1909-amd64", "windows/amd64"),
    ]),
    "drone-manifest.yaml": ("plugins/manifest:1.4.0", ["1", "1.4", "1.4.0"], [
        ("plugins/manifest:1.4.0-linux-amd64", "linux/amd64"),
        ("plugins/manifest:1.4.0-linux-arm64", "linux/arm64/v8"),
        ("plugins/manifest:1.4.0-linux-arm", "linux/arm/v7"),
        ("plugins/manifest:1.4.0-windows-2004-amd64", "windows/amd64"),
        ("plugins/manifest:1.4.0-windows-1909-amd64", "windows/amd64"),
        ("plugins/manifest:1.4.0-windows-1903-amd64", "windows/amd64"),
        ("plugins/manifest:1.4.0-windows-1809-amd64", "windows/amd64"),
    ]),
    "drone-gitea-release.yaml": ("plugins/gitea-release:latest", [], [
        ("plugins/gitea-release:linux-amd64", "linux/amd64"),
        ("plugins/gitea-release:linux-arm64", "linux/arm64/v8"),
        ("plugins/gitea-release:linux-arm", "linux/arm/v7"),
        ("plugins/gitea-release:windows-1803", "windows/amd64"),
        ("plugins/gitea-release:windows-1809", "windows/amd64"),
    ]),
    "cfssl-docker.yaml": ("jakolehm/cfssl:1.4.1", ["1", "1.4", "1.4.1"], [
        ("jakolehm/cfssl-amd64:1.4.1", "linux/amd64"),
        ("jakolehm/cfssl-arm64:1.4.1", "linux/arm64/v8"),
    ]),
    "servercontainers-samba.yaml": ("servercontainers/samba:latest", [], [
        ("servercontainers/samba:latest-amd64", "linux/amd64"),
        ("servercontainers/samba:latest-arm64v8", "linux/arm64/v8"),
        ("servercontainers/samba:latest-arm32v7", "linux/arm/v7"),
        ("servercontainers/samba:latest-arm32v6", "linux/arm/v6"),
    ]),
    "11notes-alpine.yaml": ("11notes/alpine:3.16", [], [
        ("11notes/alpine:amd64-3.16", "linux/amd64"),
        ("11notes/alpine:arm32v7-3.16", "linux/arm/v7"),
        ("11notes/alpine:arm64v8-3.16", "linux/arm64/v8"),
    ]),
    "legendary-bedrock.yaml": ("05jchambers/legendary-bedrock-container:latest", [], [
        ("05jchambers/legendary-bedrock-container:amd64", "linux/amd64"),
        ("05jchambers/legendary-bedrock-container:armv7", "linux/arm/v7"),
        ("05jchambers/legendary-bedrock-container:arm64v8", "linux/arm64/v8"),
        ("05jchambers/legendary-bedrock-container:ppc64le", "linux/ppc64le"),
        ("05jchambers/legendary-bedrock-container:riscv64", "linux/riscv64"),
        ("05jchambers/legendary-bedrock-container:s390x", "linux/s390x"),
    ]),
    "multi-arch-example.yaml": ("jotjohnting/multi-arch-example:latest", [], [
        ("jotjohnting/multi-arch-example:amd64", "linux/amd64"),
        ("jotjohnting/multi-arch-example:arm32v5", "linux/arm/v5"),
        ("jotjohnting/multi-arch-example:arm32v7", "linux/arm/v7"),
        ("jotjohnting/multi-arch-example:arm64v8", "linux/arm64/v8"),
    ]),
    "marvambass-aws.yaml": ("marvambass/aws:latest", [], [
        ("marvambass/aws:latest-amd64", "linux/amd64"),
        ("marvambass/aws:latest-arm64v8", "linux/arm64/v8"),
        ("marvambass/aws:latest-arm32v7", "linux/arm/v7"),
        ("marvambass/aws:latest-arm32v6", "linux/arm/v6"),
    ]),
    "test-docker-multiarch.yaml": ("realsimonmicro/test-docker-multiarch:latest", [], [
        ("realsimonmicro/test-docker-multiarch:amd64", "linux/amd64"),
        ("realsimonmicro/test-docker-multiarch:i386", "linux/i386"),
        ("realsimonmicro/test-docker-multiarch:arm32v6", "linux/arm/v6"),
        ("realsimonmicro/test-docker-multiarch:arm32v7", "linux/arm/v7"),
        ("realsimonmicro/test-docker-multiarch:arm64v8", "linux/arm64/v8"),
    ]),
    "rpi-couchdb-latest.yml": ("treehouses/couchdb:latest", [], [
        ("treehouses/rpi-couchdb:2.1.2", "linux/arm"),
        ("treehouses/rpi-couchdb:arm64-2.1.2", "linux/arm64"),
        ("amd64/couchdb:2.1.1", "linux/amd64"),
    ]),
    "jdownloader.yaml": ("jaymoulin/jdownloader:latest", [], [
        ("jaymoulin/jdownloader:0.7.0-arm32v6", "linux/arm/v6"),
        ("jaymoulin/jdownloader:0.7.0-armhf", "linux/arm/v7"),
        ("jaymoulin/jdownloader:0.7.0-arm64v8", "linux/arm64"),
        ("jaymoulin/jdownloader:0.7.0-arm64v8", "linux/arm/v8"),
        ("jaymoulin/jdownloader:0.7.0-amd64", "linux/amd64"),
        ("jaymoulin/jdownloader:0.7.0-i386", "linux/386"),
    ]),
    "chrome-webstore-download.yaml": ("jaymoulin/google-chrome-webstore-download:0.1.0", [], [
        ("jaymoulin/google-chrome-webstore-download:0.1.0-arm32v6", "linux/arm/v6"),
        ("jaymoulin/google-chrome-webstore-download:0.1.0-arm64v8", "linux/arm/v8"),
        ("jaymoulin/google-chrome-webstore-download:0.1.0-amd64", "linux/amd64"),
        ("jaymoulin/google-chrome-webstore-download:0.1.0-i386", "linux/386"),
        ("jaymoulin/google-chrome-webstore-download:0.1.0-s390x", "linux/s390x"),
    ]),
    "signalk-server.yml": ("signalk/signalk-server:master", [], [
        ("signalk/signalk-server:linux-amd64-master", "linux/amd64"),
        ("signalk/signalk-server:linux-arm32v7-master", "linux/arm/v7"),
    ]),
    "calico-windows-upgrade.yaml": ("calico/windows-upgrade:v3.21.0", [], [
        ("calico/windows-upgrade:v3.21.0-windows-1809", "windows/amd64"),
        ("calico/windows-upgrade:v3.21.0-windows-2004", "windows/amd64"),
        ("calico/windows-upgrade:v3.21.0-windows-20H2", "windows/amd64"),
        ("calico/windows-upgrade:v3.21.0-windows-ltsc2022", "windows/amd64"),
    ]),
    "aws-node-termination-handler.yaml": ("example/aws-node-termination-handler:v1.0.0", [], [
        ("example/aws-node-termination-handler-amd64:v1.0.0", "linux/amd64"),
        ("example/aws-node-termination-handler-arm64:v1.0.0", "linux/arm64"),
    ]),
    "dotnet-imagebuilder.yaml": ("mcr.microsoft.com/repo1:sharedtag2", ["sharedtag1"], [
        ("mcr.microsoft.com/repo1:tag1", "linux/amd64"),
    ]),
    "openshift-doozer.yaml": ("quay.io/org/repo:spam", [], [("pullspec:x86", "linux/amd64")]),
}  # fmt: skip
# Refused by manifest-tool's YAML decoder itself: what follows the file name in the error.
UNREADABLE = {
    "jellyfin-rffmpeg.yaml": ":19: image is given twice (first on line 4)",
}


def platform_text(platform: SpecPlatform) -> str:
    return "/".join(p for p in (platform.os, platform.architecture, platform.variant) if p)


def read_of(spec: ManifestSpec) -> Read:
    return spec.image, spec.tags, [(e.image, platform_text(e.platform)) for e in spec.manifests]


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "spec.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def debug(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(log, "get", lambda: recorder)
    return recorder


# --------------------------------------------------------------------------- the collected specs


def test_every_collected_spec_is_covered_and_names_its_source() -> None:
    names = {p.name for p in SPECS.iterdir()}
    assert names == set(READ) | set(UNREADABLE)
    assert len(names) >= 20
    for path in SPECS.iterdir():
        assert path.read_text().startswith("# Source: github.com/"), path.name


@pytest.mark.parametrize("name", sorted(READ))
def test_collected_spec_is_read_as_manifest_tool_reads_it(name: str) -> None:
    assert read_of(load_spec(SPECS / name)) == READ[name]


@pytest.mark.parametrize(("name", "message"), sorted(UNREADABLE.items()))
def test_collected_spec_manifest_tool_cannot_read_is_refused_in_one_line(
    name: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_spec(SPECS / name)
    assert str(caught.value) == f"{SPECS / name}{message}"


def test_manifest_tool_fixture_annotations_are_read() -> None:
    spec = load_spec(SPECS / "manifest-tool-test-registry.yml")
    assert spec.annotations == {
        "org.opencontainers.image.title": "My Image Title",
        "org.opencontainers.image.description": "My image description.",
        "org.opencontainers.image.authors": "Fred Flintstone",
        "org.opencontainers.image.source": "https://github.com/estesp/manifest-tool",
        "org.opencontainers.image.licenses": "Apache-2.0",
    }


def test_drone_windows_version_keys_are_ignored_and_named_in_a_debug_line(
    logged: Recorder,
) -> None:
    path = SPECS / "drone-docker.yaml"
    spec = load_spec(path)
    assert all(e.platform.osversion == "" for e in spec.manifests)
    assert logged.events == [
        (
            "manifest spec keys ignored",
            {"spec": str(path), "keys": [f"manifests[{n}].platform.version" for n in (4, 5, 6, 7)]},
        )
    ]


def test_manifest_tool_readme_features_key_is_ignored(logged: Recorder) -> None:
    # The README's older sample lists `features`, a field OCI platforms no longer have.
    readme = (SPECS / "manifest-tool-readme.yaml").read_text()
    text = readme.replace("architecture: amd64\n", "architecture: amd64\n      features: [sse]\n")
    spec = read_spec(text, "readme.yaml")
    assert platform_text(spec.manifests[1].platform) == "linux/amd64"
    assert logged.events[0][1]["keys"] == ["manifests[2].platform.features"]


# --------------------------------------------------------------------------- values are text


def test_numbers_booleans_and_dates_stay_the_text_written() -> None:
    spec = read_spec(
        "image: r/app:1\n"
        "tags: [1.10, 20.10, 1.0, 1, 386, 0x1F, 1e3, true, yes, 2024-01-01, '1.10']\n"
        "annotations: {1.10: 2.50, version: 010}\n"
        "manifests:\n  - image: r/app:x\n    platform: {os: linux, architecture: 386}\n"
    )
    assert spec.tags == [
        "1.10", "20.10", "1.0", "1", "386", "0x1F", "1e3", "true", "yes", "2024-01-01", "1.10",
    ]  # fmt: skip
    assert spec.annotations == {"1.10": "2.50", "version": "010"}
    assert spec.manifests[0].platform.architecture == "386"


def test_osversion_and_osfeatures_are_the_keys_manifest_tool_reads() -> None:
    spec = read_spec(
        "image: r/app:1\nmanifests:\n  - image: r/app:win\n    platform:\n"
        "      os: windows\n      architecture: amd64\n      osversion: 10.0.17763.1879\n"
        "      osfeatures: [win32k]\n      os.version: 10.0.20348.1\n      OSVersion: x\n"
    )
    platform = spec.manifests[0].platform
    assert (platform.osversion, platform.osfeatures) == ("10.0.17763.1879", ["win32k"])


def test_null_means_not_given() -> None:
    spec = read_spec(
        "image: r/app:1\ntags: ~\nannotations:\n  a: ~\nmanifests:\n"
        "  - image: r/app:x\n    platform: ~\n  - ~\n  - image: r/app:y\n    platform:\n"
        "      os: linux\n      architecture: arm\n      variant:\n"
    )
    assert spec.tags == []
    assert spec.annotations == {"a": ""}
    assert [(e.image, platform_text(e.platform)) for e in spec.manifests] == [
        ("r/app:x", ""),
        ("r/app:y", "linux/arm"),
    ]


def test_keys_are_matched_exactly() -> None:
    spec = read_spec("Image: r/app:1\nimage: r/app:2\nManifests: []\n")
    assert (spec.image, spec.manifests) == ("r/app:2", [])


# --------------------------------------------------------------------------- YAML forms


BLOCK = """\
image: r/app:1.0
tags: [latest]
manifests:
  - image: r/app:1.0-arm
    platform:
      os: linux
      architecture: arm
"""


def test_json_spec_reads_like_the_block_form() -> None:
    text = (
        '{"image": "r/app:1.0", "tags": ["latest"], "manifests": [\n'
        '  {"image": "r/app:1.0-arm", "platform": {"os": "linux", "architecture": "arm"}}\n]}\n'
    )
    assert read_spec(text) == read_spec(BLOCK)


def test_flow_entries_read_like_the_block_form() -> None:
    text = (
        "image: r/app:1.0\ntags: [latest]\nmanifests:\n"
        '  - {"image": "r/app:1.0-arm", "platform": {"os": linux, architecture: "arm"}}\n'
    )
    assert read_spec(text) == read_spec(BLOCK)


def test_stray_key_at_the_wrong_indent_is_ignored(logged: Recorder) -> None:
    # `variant` one level too shallow: valid YAML, but a key of the entry, not of the platform.
    text = (
        BLOCK
        + "    variant: v6\n  - image: r/app:1.0-amd64\n    platform: {os: linux, architecture: amd64}\n"
    )
    spec = read_spec(text, "spec.yaml")
    assert [platform_text(e.platform) for e in spec.manifests] == ["linux/arm", "linux/amd64"]
    assert logged.events[0][1]["keys"] == ["manifests[1].variant"]


def test_stray_top_level_keys_are_ignored(logged: Recorder) -> None:
    spec = read_spec(BLOCK + "platform:\n  os: linux\nversion: 2\n", "spec.yaml")
    assert read_of(spec) == read_of(read_spec(BLOCK))
    assert logged.events[0][1]["keys"] == ["platform", "version"]


def test_anchors_and_merge_keys_work() -> None:
    text = (
        "arm: &arm {os: linux, architecture: arm}\nimage: r/app:1\nmanifests:\n"
        "  - image: r/app:v6\n    platform: {<<: *arm, variant: v6}\n"
        "  - image: r/app:v7\n    platform: {<<: *arm, variant: v7}\n"
        "  - image: r/app:any\n    platform: *arm\n"
    )
    spec = read_spec(text)
    assert [platform_text(e.platform) for e in spec.manifests] == [
        "linux/arm/v6",
        "linux/arm/v7",
        "linux/arm",
    ]


def test_only_the_first_document_counts() -> None:
    spec = read_spec("---\n" + BLOCK + "---\nimage: r/other:2\n")
    assert spec.image == "r/app:1.0"


# --------------------------------------------------------------------------- encodings


def test_utf8_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF8 + BLOCK.encode())
    assert load_spec(path) == read_spec(BLOCK)


def test_utf16_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, BLOCK.encode("utf-16"))
    assert load_spec(path) == read_spec(BLOCK)


def test_bytes_that_are_not_utf8_are_one_line_naming_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BLOCK.encode().replace(b"1.0-arm", b"1.0-\xe9arm"))
    with pytest.raises(ConfigError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}:4: not UTF-8 text (byte 0xe9); save the spec as UTF-8"


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image: r/a:1\nimage: r/a:2\n", "spec.yaml:2: image is given twice (first on line 1)"),
        (
            "manifests:\n  - image: a\n    platform: {os: linux, os: windows}\n",
            "spec.yaml:3: manifests[1].platform.os is given twice (first on line 3)",
        ),
        ("tags: latest\n", "spec.yaml:1: tags must be a list, not text 'latest'"),
        ("manifests: {image: a}\n", "spec.yaml:1: manifests must be a list, not a mapping"),
        ("- image: a\n", "spec.yaml:1: a spec must be a mapping, not a list"),
        ("image: [a, b]\n", "spec.yaml:1: image must be text, not a list"),
        (
            "manifests:\n  - image: a\n    platform: linux/amd64\n",
            "spec.yaml:3: manifests[1].platform must be a mapping, not text 'linux/amd64'",
        ),
        ("image: a\n  tags: [b]\n", "spec.yaml:2: invalid YAML: mapping values are not allowed here"),
        ("tags: [a, b\n", "spec.yaml:2: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        ("image: a\ntags: [\x07]\n", "spec.yaml:2: invalid YAML: character U+0007 is not allowed"),
        ("manifests:\n\t- image: a\n", "spec.yaml:2: invalid YAML: found character '\\t' that cannot start any token"),
    ],
)  # fmt: skip
def test_what_manifest_tool_refuses_is_one_line_naming_file_and_line(
    text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read_spec(text, "spec.yaml")
    assert str(caught.value) == message


def test_pyyaml_is_a_dependency_of_the_plain_install() -> None:
    """`manifest create --from-spec` works after `pip install buildxpy`, no extra needed."""
    from importlib.metadata import requires

    needed = requires("buildxpy") or []
    assert any(r.startswith("PyYAML") and "extra ==" not in r for r in needed), needed


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read manifest spec .*nope\.yaml"):
        load_spec(tmp_path / "nope.yaml")


def test_empty_file_is_an_empty_spec(tmp_path: Path) -> None:
    assert load_spec(write(tmp_path, "# nothing yet\n")) == ManifestSpec()
