from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from buildxpy.errors import ConfigError
from buildxpy.platforms.names import (
    KNOWN_OS,
    LIBRARY_NAMES,
    Platform,
    host_platform,
    normalize_os,
    parse,
    parse_list,
    read_archs,
)

TABLE = Path(__file__).parents[1] / "data" / "buildx-platforms.tsv"
BUILDX_VERSIONS = ("0.13", "0.16", "0.20", "0.29")
REFUSED = "refused: "
# The table was made on a linux/amd64 machine: an OS alone (or `local`) took its architecture.
TABLE_HOST = "amd64"


@dataclass(frozen=True)
class Row:
    given: str
    buildx: tuple[str, ...]  # what each buildx version builds, or "refused: why"
    buildxpy: str

    @property
    def on_the_host(self) -> bool:
        word = normalize_os(self.given)
        return "/" not in self.given and (word in KNOWN_OS or word == "local")

    def for_this_machine(self, text: str) -> str:
        if not self.on_the_host or text.startswith(REFUSED):
            return text
        os_name = text.split("/", 1)[0]
        host = host_platform()
        return str(Platform(os_name, host.arch, host.variant))


def _rows() -> list[Row]:
    rows = []
    for line in TABLE.read_text().splitlines():
        if line.startswith(("#", "input\t")):
            continue
        given, *buildx, buildxpy = line.split("\t")
        assert len(buildx) == len(BUILDX_VERSIONS), line
        rows.append(Row(given, tuple(buildx), buildxpy))
    return rows


ROWS = _rows()


def _outcome(given: str) -> str:
    try:
        return str(parse(given))
    except ConfigError as exc:
        return REFUSED + str(exc)


@pytest.mark.parametrize("row", ROWS, ids=[r.given for r in ROWS])
def test_table_of_buildx_results(row: Row) -> None:
    assert _outcome(row.given) == row.for_this_machine(row.buildxpy)


@pytest.mark.parametrize("row", ROWS, ids=[r.given for r in ROWS])
def test_refused_by_any_buildx_is_refused(row: Row) -> None:
    """What one supported buildx refuses fails its build: refuse it before any docker call.
    docker-library names are the one exception, read before buildx's grammar."""
    if row.given.lower() in LIBRARY_NAMES:
        assert _outcome(row.given) == LIBRARY_NAMES[row.given.lower()]
    elif any(result.startswith(REFUSED) for result in row.buildx):
        assert row.buildxpy.startswith(REFUSED)


@pytest.mark.parametrize(
    "row",
    [
        r
        for r in ROWS
        if not r.buildxpy.startswith(REFUSED) and r.given.lower() not in LIBRARY_NAMES
    ],
    ids=lambda r: r.given,
)
def test_accepted_is_what_the_newest_buildx_builds_and_every_buildx_keeps(row: Row) -> None:
    assert row.buildxpy == row.buildx[-1]
    # What buildxpy passes on reads as itself in every buildx version (buildx 0.13 reads
    # linux/arm64/9 as variant "9", newer ones as "v9": buildxpy passes "v9" to both).
    back = next(r for r in ROWS if r.given == row.buildxpy)
    assert back.buildx == (row.buildxpy,) * len(BUILDX_VERSIONS)


@pytest.mark.parametrize(
    "row",
    [r for r in ROWS if r.buildxpy.startswith(REFUSED) and not any(
        b.startswith(REFUSED) for b in r.buildx)],
    ids=lambda r: r.given,
)  # fmt: skip
def test_refused_only_by_buildxpy_is_an_unknown_name(row: Row) -> None:
    """Stricter than buildx only where buildx would build an image nobody can run."""
    assert row.buildxpy.startswith(
        (f"{REFUSED}unknown operating system ", f"{REFUSED}unknown architecture ",
         f"{REFUSED}unknown variant ")
    )  # fmt: skip


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        # the cases buildxpy once read differently from buildx
        ("linux/armhf/v6", "linux/arm/v7"),
        ("linux/armel/v7", "linux/arm/v6"),
        ("linux/i386/v1", "linux/386"),
        ("macos/arm64", "darwin/arm64"),
        ("linux/sparc64", "linux/sparc64"),
        ("linux/s390", "linux/s390"),
        ("linux/arm64/9", "linux/arm64/v9"),
    ],
)
def test_read_as_buildx_reads_it(given: str, normalized: str) -> None:
    assert str(parse(given)) == normalized


def test_dotted_arm64_variant_is_refused_naming_the_part() -> None:
    with pytest.raises(ConfigError) as info:
        parse("linux/arm64/v8.2")
    assert str(info.value) == (
        "invalid platform 'linux/arm64/v8.2': 'v8.2' is an invalid component "
        "(letters, digits, '_' and '-' only; buildx before 0.20 refuses '.')"
    )


@pytest.mark.parametrize(("name", "platform"), sorted(LIBRARY_NAMES.items()))
def test_library_names_both_ways(name: str, platform: str) -> None:
    parsed = parse(name)
    assert str(parsed) == platform
    assert parse(str(parsed)) == parsed
    assert parse(name.upper()) == parsed
    # and the platform names exactly one library architecture
    assert [n for n, p in LIBRARY_NAMES.items() if p == str(parsed)] == [name]


@pytest.mark.parametrize(
    ("given", "normalized", "slug"),
    [
        ("linux/arm64/v8", "linux/arm64", "linux-arm64"),
        ("linux/arm", "linux/arm/v7", "linux-arm-v7"),
        ("linux/amd64/v3", "linux/amd64/v3", "linux-amd64-v3"),
        ("  linux/arm/v6 ", "linux/arm/v6", "linux-arm-v6"),
    ],
)
def test_slug(given: str, normalized: str, slug: str) -> None:
    platform = parse(given)
    assert str(platform) == normalized
    assert platform.slug == slug


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("linux/arm65", "unknown architecture 'arm65' in platform 'linux/arm65'"),
        ("plan10/amd64", "unknown operating system 'plan10' in platform 'plan10/amd64'"),
        ("arm65", "unknown operating system or architecture 'arm65'"),
        ("linux/arm/v9", ("unknown variant 'v9' for architecture 'arm' in 'linux/arm/v9' "
         "(known: v5, v6, v7, v8)")),
        ("linux/amd64/3", ("unknown variant '3' for architecture 'amd64' in 'linux/amd64/3' "
         "(known: v1, v2, v3, v4)")),
        ("linux//amd64", "invalid platform 'linux//amd64': expected os/arch[/variant]"),
        ("linux/arm64/v8/x", "invalid platform 'linux/arm64/v8/x': expected os/arch[/variant]"),
        ("linux/*", "invalid platform 'linux/*': wildcards are not supported"),
        ("windows(10.0.17763)/amd64", ("invalid platform 'windows(10.0.17763)/amd64': "
         "'windows(10.0.17763)' is an invalid component (letters, digits, '_' and '-' only; "
         "buildx before 0.16 refuses os(version))")),
        ("  ", "empty platform"),
    ],
)  # fmt: skip
def test_parse_rejects_with_a_message_naming_the_problem(given: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(given)
    assert str(info.value) == message


def test_os_alone_and_local_are_this_machine() -> None:
    host = host_platform()
    assert parse("local") == host
    assert parse("linux") == host
    assert parse("windows") == Platform("windows", host.arch, host.variant)


def test_parse_list_splits_commas_and_drops_duplicates() -> None:
    got = parse_list(["linux/amd64,linux/arm64/v8", "linux/arm64", " linux/arm/v7 ", "arm64v8"])
    assert got == [
        Platform("linux", "amd64"),
        Platform("linux", "arm64"),
        Platform("linux", "arm", "v7"),
    ]


def test_qemu_names() -> None:
    assert parse("linux/arm64").qemu_name == "aarch64"
    assert parse("linux/arm/v7").qemu_name == "arm"
    assert parse("linux/amd64").qemu_name == "x86_64"
    assert parse("linux/mips64le").qemu_name == "mips64el"
    assert parse("linux/sparc64").qemu_name == "sparc64"


def test_read_archs_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    archs = tmp_path / "archs"
    archs.write_text("# what we ship\namd64\n\narm64v8  # servers\narm32v7\n")
    assert [str(p) for p in read_archs(archs)] == ["linux/amd64", "linux/arm64", "linux/arm/v7"]


def test_read_archs_names_the_bad_line(tmp_path: Path) -> None:
    archs = tmp_path / "archs"
    archs.write_text("amd64\nsparc9\n")
    with pytest.raises(ConfigError, match=r"archs:2: unknown operating system or architecture"):
        read_archs(archs)


def test_read_archs_refuses_an_empty_file(tmp_path: Path) -> None:
    archs = tmp_path / "archs"
    archs.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="names no platform"):
        read_archs(archs)


def test_read_archs_refuses_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    archs = tmp_path / "archs"
    archs.write_bytes(b"amd64\n\xff\n")
    with pytest.raises(ConfigError) as info:
        read_archs(archs)
    assert str(info.value) == f"{archs}:2: not UTF-8 text (byte 0xff); save the file as UTF-8"
