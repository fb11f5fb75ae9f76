from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.errors import ConfigError
from buildxpy.manifest_spec import YamlError, load_spec, read_yaml
from buildxpy.platforms import Platform

# The layout manifest-tool's own documentation shows: `-` alone, then an indented mapping.
MANIFEST_TOOL_SPEC = """\
image: myprivreg:5000/someimage:1.0.0
tags: ['1.0', '1.0.0', 'latest']
manifests:
  -
    image: myprivreg:5000/someimage:ppc64le
    platform:
      architecture: ppc64le
      os: linux
  -
    image: myprivreg:5000/someimage:amd64
    platform:
      architecture: amd64
      features:
        - sse
      os: linux
"""

COMPACT_SPEC = """\
---
# release spec
image: "reg.example.com/team/app:2.0"   # the list
tags:
- "2"
- latest
manifests:
- image: reg.example.com/team/app:2.0-arm
  platform: {os_arch}
- image: reg.example.com/team/app:2.0-amd64
  platform:
    os: linux
    architecture: amd64
"""


def test_reads_the_layout_manifest_tool_documents() -> None:
    assert read_yaml(MANIFEST_TOOL_SPEC) == {
        "image": "myprivreg:5000/someimage:1.0.0",
        "tags": ["1.0", "1.0.0", "latest"],
        "manifests": [
            {
                "image": "myprivreg:5000/someimage:ppc64le",
                "platform": {"architecture": "ppc64le", "os": "linux"},
            },
            {
                "image": "myprivreg:5000/someimage:amd64",
                "platform": {"architecture": "amd64", "features": ["sse"], "os": "linux"},
            },
        ],
    }


def test_reads_the_compact_layout_with_comments_quotes_and_dashes_at_key_level() -> None:
    text = COMPACT_SPEC.replace(
        "  platform: {os_arch}\n",
        "  platform:\n    os: linux\n    architecture: arm\n    variant: v7\n",
    )
    data = read_yaml(text)
    assert data == {
        "image": "reg.example.com/team/app:2.0",
        "tags": ["2", "latest"],
        "manifests": [
            {
                "image": "reg.example.com/team/app:2.0-arm",
                "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
            },
            {
                "image": "reg.example.com/team/app:2.0-amd64",
                "platform": {"os": "linux", "architecture": "amd64"},
            },
        ],
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: 'it''s'", {"a": "it's"}),
        ('a: "say \\"hi\\""', {"a": 'say "hi"'}),
        ("a: x#not-a-comment", {"a": "x#not-a-comment"}),
        ("a: '# kept'", {"a": "# kept"}),
        ("a:", {"a": None}),
        ("a: ~", {"a": None}),
        ("a: []", {"a": []}),
        ("a: [ x , 'y z' ]", {"a": ["x", "y z"]}),
        ("- a\n- b", ["a", "b"]),
        ("a:\n  b:\n    c: d\ne: f", {"a": {"b": {"c": "d"}}, "e": "f"}),
        ("", None),
        ("# only a comment\n", None),
    ],
)
def test_scalars_and_nesting(text: str, value: object) -> None:
    assert read_yaml(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &anchor x", "spec.yaml:1: unsupported YAML syntax '&anchor x'"),
        ("a: *alias", "spec.yaml:1: unsupported YAML syntax '*alias'"),
        ("a: |\n  text", "spec.yaml:1: unsupported YAML syntax '|'"),
        ("a: {b: c}", "spec.yaml:1: unsupported YAML syntax '{b: c}'"),
        ("a: [b, [c]]", "spec.yaml:1: nested [ ] or { } is not supported"),
        ("a: [b, c", "spec.yaml:1: a [ … ] list must close on the same line"),
        ("a: b\na: c", "spec.yaml:2: duplicate key 'a'"),
        ("a: b\n   c: d", "spec.yaml:2: unexpected indentation"),
        ("a:\n  - b\n  c: d", "spec.yaml:3: expected a '- ' list item at this indentation"),
        ("just text", "spec.yaml:1: expected 'key: value', got 'just text'"),
        ("a: 'open", 'spec.yaml:1: unterminated quoted string "\'open"'),
        ("a:\n\t- b", "spec.yaml:2: tabs cannot indent YAML"),
        ("a: b\n---\nc: d", "spec.yaml:2: only one YAML document is supported"),
        ('a: "tab\\t"', "spec.yaml:1: unsupported escape in '\"tab\\\\t\"'"),
    ],
)
def test_refuses_what_it_does_not_read_with_the_line(text: str, message: str) -> None:
    with pytest.raises(YamlError) as caught:
        read_yaml(text, "spec.yaml")
    assert str(caught.value) == message


def test_load_spec_normalizes_platforms(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        COMPACT_SPEC.replace(
            "  platform: {os_arch}\n",
            "  platform:\n    os: linux\n    architecture: arm64\n    variant: v8\n",
        )
    )
    spec = load_spec(path)
    assert spec.image == "reg.example.com/team/app:2.0"
    assert spec.tags == ["2", "latest"]
    platforms = [e.platform.parsed() for e in spec.manifests if e.platform]
    assert platforms == [Platform("linux", "arm64"), Platform("linux", "amd64")]


def test_entry_without_platform_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("image: r/app:1\nmanifests:\n  - image: r/app:1-amd64\n")
    spec = load_spec(path)
    assert spec.tags == []
    assert spec.manifests[0].platform is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a", "a manifest spec is a mapping with image, tags and manifests"),
        ("image: r/a:1\nmanifests: []", "invalid manifest spec: manifests: at least one entry"),
        ("image: r/a:1\nmanifest:\n  - image: x", "manifest: unknown key"),
        (
            "image: r/a:1\nmanifests:\n  - image: r/a:x\n    platform:\n      os: linux\n",
            "invalid manifest spec: manifests[1].platform.architecture: Field required",
        ),
        (
            (
                "image: r/a:1\nmanifests:\n  - image: r/a:x\n    platform:\n"
                "      os: linux\n      architecture: sparc9\n"
            ),
            "manifests[1]: unknown architecture 'sparc9'",
        ),
    ],
)
def test_invalid_specs_are_one_line_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read manifest spec .*nope\.yaml"):
        load_spec(tmp_path / "nope.yaml")
