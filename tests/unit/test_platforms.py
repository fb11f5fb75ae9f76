from __future__ import annotations

from pathlib import Path

import pytest

from buildxpy.errors import ConfigError
from buildxpy.platforms import Platform, parse, parse_list, read_archs


@pytest.mark.parametrize(
    ("given", "normalized", "slug"),
    [
        ("linux/amd64", "linux/amd64", "linux-amd64"),
        ("linux/arm64/v8", "linux/arm64", "linux-arm64"),
        ("linux/aarch64", "linux/arm64", "linux-arm64"),
        ("linux/arm", "linux/arm/v7", "linux-arm-v7"),
        ("linux/arm/7", "linux/arm/v7", "linux-arm-v7"),
        ("linux/arm/v6", "linux/arm/v6", "linux-arm-v6"),
        ("linux/armhf", "linux/arm/v7", "linux-arm-v7"),
        ("linux/armel", "linux/arm/v6", "linux-arm-v6"),
        ("linux/x86_64", "linux/amd64", "linux-amd64"),
        ("linux/amd64/v1", "linux/amd64", "linux-amd64"),
        ("linux/amd64/v3", "linux/amd64/v3", "linux-amd64-v3"),
        ("linux/i386", "linux/386", "linux-386"),
        ("LINUX/ARM64", "linux/arm64", "linux-arm64"),
        ("arm64", "linux/arm64", "linux-arm64"),
        # docker-library names, as `docker/archs` files spell them
        ("amd64", "linux/amd64", "linux-amd64"),
        ("arm64v8", "linux/arm64", "linux-arm64"),
        ("arm32v7", "linux/arm/v7", "linux-arm-v7"),
        ("arm32v6", "linux/arm/v6", "linux-arm-v6"),
        ("i386", "linux/386", "linux-386"),
        ("ppc64le", "linux/ppc64le", "linux-ppc64le"),
        ("s390x", "linux/s390x", "linux-s390x"),
        ("riscv64", "linux/riscv64", "linux-riscv64"),
    ],
)
def test_parse_normalizes_like_buildx(given: str, normalized: str, slug: str) -> None:
    platform = parse(given)
    assert str(platform) == normalized
    assert platform.slug == slug


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("linux/arm65", "unknown architecture 'arm65' in platform 'linux/arm65'"),
        ("plan10/amd64", "unknown operating system 'plan10'"),
        ("linux/arm/v9", "unknown variant 'v9' for architecture 'arm'"),
        ("linux/riscv64/v2", "unknown variant 'v2' for architecture 'riscv64'"),
        ("linux//amd64", "expected os/arch[/variant]"),
        ("linux/arm64/v8/x", "expected os/arch[/variant]"),
        ("  ", "empty platform"),
    ],
)
def test_parse_rejects_with_a_message_naming_the_problem(given: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse(given)


def test_parse_list_splits_commas_and_drops_duplicates() -> None:
    got = parse_list(["linux/amd64,linux/arm64/v8", "linux/arm64", " linux/arm/v7 "])
    assert got == [
        Platform("linux", "amd64"),
        Platform("linux", "arm64"),
        Platform("linux", "arm", "v7"),
    ]


def test_qemu_names() -> None:
    assert parse("linux/arm64").qemu_name == "aarch64"
    assert parse("linux/arm/v7").qemu_name == "arm"
    assert parse("linux/amd64").qemu_name == "x86_64"


def test_read_archs_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    archs = tmp_path / "archs"
    archs.write_text("# what we ship\namd64\n\narm64v8  # servers\narm32v7\n")
    assert [str(p) for p in read_archs(archs)] == ["linux/amd64", "linux/arm64", "linux/arm/v7"]


def test_read_archs_names_the_bad_line(tmp_path: Path) -> None:
    archs = tmp_path / "archs"
    archs.write_text("amd64\nsparc\n")
    with pytest.raises(ConfigError, match=r"archs:2: unknown architecture 'sparc'"):
        read_archs(archs)


def test_read_archs_refuses_an_empty_file(tmp_path: Path) -> None:
    archs = tmp_path / "archs"
    archs.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="names no platform"):
        read_archs(archs)
