from __future__ import annotations

import os
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from buildxpy.errors import BuildxpyError
from buildxpy.platforms.elf import (
    EM_386,
    EM_AARCH64,
    EM_ARM,
    EM_LOONGARCH,
    EM_MIPS,
    EM_PPC64,
    EM_RISCV,
    EM_S390,
    EM_X86_64,
    ET_DYN,
    ET_EXEC,
    ET_REL,
    HEADER_SIZE,
    MAGIC,
    Byteorder,
    ElfError,
    ElfHeader,
    Expected,
    Shebang,
    Verdict,
    check,
    expected_for,
    matches,
    program_interpreter,
    read_elf,
    shebang,
)
from buildxpy.platforms.names import parse

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "test-binaries"
CACHE = ROOT / "tests" / ".cache" / "binaries"
SCRIPT_SAMPLE = CACHE / "script" / "sample.deconfig"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LINUX_ABIS = frozenset({0, 3, 97})


@dataclass(frozen=True)
class Real:
    """A busybox from Debian's busybox-static, as scripts/test-binaries fetches it."""

    debian_arch: str
    platform: str  # the image platform it belongs to
    described: str

    def __str__(self) -> str:
        return self.debian_arch


REAL = [
    Real("amd64", "linux/amd64", "ELF 64-bit LSB x86_64"),
    Real("arm64", "linux/arm64", "ELF 64-bit LSB aarch64"),
    Real("armhf", "linux/arm/v7", "ELF 32-bit LSB arm, EABI5 hard-float"),
    Real("armel", "linux/arm/v5", "ELF 32-bit LSB arm, EABI5 soft-float"),
    Real("i386", "linux/386", "ELF 32-bit LSB i386"),
    Real("ppc64el", "linux/ppc64le", "ELF 64-bit LSB ppc64le"),
    Real("s390x", "linux/s390x", "ELF 64-bit MSB s390x"),
    Real("mips64el", "linux/mips64le", "ELF 64-bit LSB mips64el"),
    Real("mipsel", "linux/mipsle", "ELF 32-bit LSB mipsel"),
]
BY_ARCH = {real.debian_arch: real for real in REAL}
# Platforms no real binary here belongs to: every busybox must be refused by each.
OTHER_PLATFORMS = [
    "linux/arm/v6", "linux/amd64/v3", "linux/riscv64", "linux/loong64", "linux/ppc64",
    "linux/mips64", "linux/mips", "windows/amd64", "freebsd/amd64",
]  # fmt: skip


def _missing() -> list[Path]:
    wanted = [CACHE / real.debian_arch / "busybox" for real in REAL] + [SCRIPT_SAMPLE]
    return [path for path in wanted if not path.is_file()]


@pytest.fixture(scope="session")
def binaries() -> Path:
    """The cache of real binaries; fetched by scripts/test-binaries when missing, except in CI,
    where a missing cache means the job forgot to run it."""
    missing = _missing()
    if missing and IN_CI:
        pytest.fail(
            f"CI=true and {len(missing)} real binaries are missing (first: {missing[0]}): "
            "run scripts/test-binaries before the tests",
            pytrace=False,
        )
    if missing:
        result = subprocess.run(
            ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900, check=False
        )
        if result.returncode != 0 or _missing():
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            pytest.fail(
                f"scripts/test-binaries failed (exit code {result.returncode}):\n{tail}",
                pytrace=False,
            )
    return CACHE


def head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(HEADER_SIZE)


def real_header(cache: Path, real: Real) -> ElfHeader:
    header = read_elf(head(cache / real.debian_arch / "busybox"))
    assert header is not None
    return header


def platform_parts(text: str) -> tuple[str, str, str]:
    platform = parse(text)
    return platform.os, platform.arch, platform.variant


# --- real binaries ---------------------------------------------------------------------------


@pytest.mark.parametrize("real", REAL, ids=str)
def test_real_busybox_reads_as_its_architecture(binaries: Path, real: Real) -> None:
    header = real_header(binaries, real)
    assert header.describe() == real.described
    assert header.file_type == ET_EXEC
    assert header.os_abi in LINUX_ABIS


@pytest.mark.parametrize(
    ("real", "platform"),
    [(real, other.platform) for real in REAL for other in REAL]
    + [(real, platform) for real in REAL for platform in OTHER_PLATFORMS],
    ids=str,
)
def test_real_busybox_matches_only_its_own_platform(
    binaries: Path, real: Real, platform: str
) -> None:
    header = real_header(binaries, real)
    own, other = parse(real.platform), parse(platform)
    verdict = check(header, *platform_parts(platform))
    assert matches(header, *platform_parts(platform)) is verdict.ok
    assert verdict.ok is (own.arch == other.arch and other.os == "linux")
    if other.os == "linux" and own.arch != other.arch:
        assert verdict.problems == (
            f"{real.described}, but {platform} needs {expected_description(platform)}",
        )


def expected_description(platform: str) -> str:
    want = expected_for(*platform_parts(platform))
    assert want is not None
    return want.describe()


@pytest.mark.parametrize(
    ("arch", "platform", "notes"),
    [
        ("armhf", "linux/arm/v7", ()),
        ("armel", "linux/arm/v7", ("soft-float ABI, where linux/arm/v7 is usually hard-float",)),
        ("armel", "linux/arm/v6", ()),
        ("armhf", "linux/arm/v6", ()),
        ("armel", "linux/arm/v5", ()),
        ("armhf", "linux/arm/v5", ("hard-float ABI, where linux/arm/v5 is usually soft-float",)),
    ],
)
def test_real_arm_float_abi_is_reported_not_failed(
    binaries: Path, arch: str, platform: str, notes: tuple[str, ...]
) -> None:
    verdict = check(real_header(binaries, BY_ARCH[arch]), *platform_parts(platform))
    assert verdict.ok
    assert verdict.notes == notes


@pytest.mark.parametrize("real", REAL, ids=str)
def test_real_busybox_is_static(binaries: Path, real: Real) -> None:
    assert program_interpreter((binaries / real.debian_arch / "busybox").read_bytes()) is None


def test_real_script_is_not_elf(binaries: Path) -> None:
    data = (binaries / "script" / "sample.deconfig").read_bytes()
    assert read_elf(data) is None
    assert program_interpreter(data) is None
    assert shebang(data) == Shebang("/bin/sh")


# --- synthetic headers -----------------------------------------------------------------------


def elf_bytes(
    *,
    bits: int = 64,
    byteorder: Byteorder = "little",
    machine: int = EM_X86_64,
    flags: int = 0,
    os_abi: int = 0,
    file_type: int = ET_EXEC,
    interpreter: bytes | None = None,
) -> bytes:
    """An ELF header, followed (with an interpreter) by a PT_LOAD and a PT_INTERP entry.

    The PT_INTERP's memory size differs from its file size, so reading the wrong one shows."""
    end = "<" if byteorder == "little" else ">"
    ident = MAGIC + bytes([bits // 32, 1 if byteorder == "little" else 2, 1, os_abi]) + bytes(8)
    size, phentsize = (64, 56) if bits == 64 else (52, 32)
    phnum = 2 if interpreter is not None else 0
    header_fmt = f"{end}HHIQQQIHHHHHH" if bits == 64 else f"{end}HHIIIIIHHHHHH"
    header = ident + struct.pack(
        header_fmt, file_type, machine, 1, 0x1000, size if phnum else 0, 0, flags,
        size, phentsize, phnum, 0, 0, 0,
    )  # fmt: skip
    if interpreter is None:
        return header
    name_at = size + phnum * phentsize
    name = interpreter + b"\0"
    if bits == 64:
        load = struct.pack(f"{end}IIQQQQQQ", 1, 5, 0, 0, 0, 0x2000, 0x2000, 0x1000)
        interp = struct.pack(f"{end}IIQQQQQQ", 3, 4, name_at, 0, 0, len(name), 0x100, 1)
    else:
        load = struct.pack(f"{end}IIIIIIII", 1, 0, 0, 0, 0x2000, 0x2000, 5, 0x1000)
        interp = struct.pack(f"{end}IIIIIIII", 3, name_at, 0, 0, len(name), 0x100, 4, 1)
    return header + load + interp + name


@pytest.mark.parametrize(
    ("data", "described", "platform"),
    [
        (elf_bytes(machine=EM_RISCV), "ELF 64-bit LSB riscv64", "linux/riscv64"),
        (elf_bytes(machine=EM_LOONGARCH), "ELF 64-bit LSB loongarch64", "linux/loong64"),
        (elf_bytes(machine=EM_PPC64, byteorder="big"), "ELF 64-bit MSB ppc64", "linux/ppc64"),
        (elf_bytes(machine=EM_MIPS, byteorder="big"), "ELF 64-bit MSB mips64", "linux/mips64"),
        (elf_bytes(machine=EM_MIPS, bits=32, byteorder="big"), "ELF 32-bit MSB mips", "linux/mips"),
        (elf_bytes(file_type=ET_DYN), "ELF 64-bit LSB x86_64", "linux/amd64"),
        (elf_bytes(os_abi=9), "ELF 64-bit LSB x86_64 (FreeBSD)", "freebsd/amd64"),
        (elf_bytes(machine=EM_AARCH64, os_abi=3), "ELF 64-bit LSB aarch64", "linux/arm64/v8"),
        (elf_bytes(machine=EM_386, bits=32), "ELF 32-bit LSB i386", "linux/386"),
    ],
    ids=[
        "riscv64", "loong64", "ppc64", "mips64", "mips", "pie", "freebsd", "arm64-gnu", "386",
    ],
)  # fmt: skip
def test_synthetic_header_matches_its_platform(data: bytes, described: str, platform: str) -> None:
    header = read_elf(data)
    assert header is not None
    assert header.describe() == described
    assert check(header, *platform_parts(platform)) == Verdict()
    assert not matches(header, "linux", "s390x", "")


@pytest.mark.parametrize(
    ("data", "platform", "problem"),
    [
        pytest.param(
            elf_bytes(machine=EM_PPC64, byteorder="big"),
            "linux/ppc64le",
            "ELF 64-bit MSB ppc64, but linux/ppc64le needs ELF 64-bit LSB ppc64le",
            id="ppc64-big-endian",
        ),
        pytest.param(
            elf_bytes(machine=EM_AARCH64, byteorder="big"),
            "linux/arm64",
            "ELF 64-bit MSB aarch64_be, but linux/arm64 needs ELF 64-bit LSB aarch64",
            id="aarch64-big-endian",
        ),
        pytest.param(
            elf_bytes(machine=EM_ARM, bits=32, byteorder="big", flags=0x05000400),
            "linux/arm/v7",
            "ELF 32-bit MSB armeb, EABI5 hard-float, but linux/arm/v7 needs ELF 32-bit LSB arm",
            id="arm-big-endian",
        ),
        pytest.param(
            elf_bytes(machine=EM_S390, byteorder="little"),
            "linux/s390x",
            "ELF 64-bit LSB s390, but linux/s390x needs ELF 64-bit MSB s390x",
            id="s390-little-endian",
        ),
        pytest.param(
            elf_bytes(bits=32),
            "linux/amd64",
            "ELF 32-bit LSB x32, but linux/amd64 needs ELF 64-bit LSB x86_64",
            id="x32",
        ),
        pytest.param(
            elf_bytes(machine=EM_MIPS, bits=32),
            "linux/mips64le",
            "ELF 32-bit LSB mipsel, but linux/mips64le needs ELF 64-bit LSB mips64el",
            id="mips32-in-mips64",
        ),
        pytest.param(
            elf_bytes(os_abi=9),
            "linux/amd64",
            "built for FreeBSD, not linux",
            id="freebsd-in-linux",
        ),
        pytest.param(
            elf_bytes(), "freebsd/amd64", "built for SYSV, not freebsd", id="sysv-in-freebsd"
        ),
        pytest.param(
            elf_bytes(file_type=ET_REL),
            "linux/amd64",
            "a relocatable object, not an executable",
            id="relocatable",
        ),
        pytest.param(
            elf_bytes(), "windows/amd64", "windows/amd64 has no ELF binaries", id="windows"
        ),
        pytest.param(elf_bytes(), "linux/wasm", "linux/wasm has no ELF binaries", id="wasm"),
    ],
)
def test_synthetic_header_mismatch_says_why(data: bytes, platform: str, problem: str) -> None:
    header = read_elf(data)
    assert header is not None
    verdict = check(header, *platform_parts(platform))
    assert verdict == Verdict(problems=(problem,))
    assert not verdict.ok
    assert not matches(header, *platform_parts(platform))


@pytest.mark.parametrize(
    ("flags", "eabi", "float_abi", "described"),
    [
        (0x05000400, 5, "hard", "ELF 32-bit LSB arm, EABI5 hard-float"),
        (0x05000200, 5, "soft", "ELF 32-bit LSB arm, EABI5 soft-float"),
        (0x05000000, 5, None, "ELF 32-bit LSB arm, EABI5"),
        (0x04000000, 4, None, "ELF 32-bit LSB arm, EABI4"),
        # Before EABI5 this bit meant something else (legacy VFP float format).
        (0x00000400, 0, None, "ELF 32-bit LSB arm, old ABI"),
    ],
)
def test_arm_flags(flags: int, eabi: int, float_abi: str | None, described: str) -> None:
    header = read_elf(elf_bytes(bits=32, machine=EM_ARM, flags=flags))
    assert header is not None
    assert (header.arm_eabi, header.float_abi) == (eabi, float_abi)
    assert header.describe() == described


def test_arm_fields_are_none_on_other_machines() -> None:
    header = read_elf(elf_bytes(machine=EM_AARCH64, flags=0x05000400))
    assert header is not None
    assert (header.arm_eabi, header.float_abi) == (None, None)


def test_old_arm_abi_matches_but_is_noted() -> None:
    header = read_elf(elf_bytes(bits=32, machine=EM_ARM, flags=0, os_abi=97))
    assert header is not None
    assert header.describe() == "ELF 32-bit LSB arm, old ABI (ARM)"
    verdict = check(header, "linux", "arm", "v7")
    assert verdict.ok
    assert verdict.notes == (
        "old ARM ABI (not EABI): runs only on kernels built with OABI compatibility",
    )


def test_a_64_byte_prefix_of_a_32_bit_file_is_enough() -> None:
    data = elf_bytes(bits=32, machine=EM_ARM, flags=0x05000400, interpreter=b"/lib/ld.so")
    assert read_elf(data[:HEADER_SIZE]) == read_elf(data)
    assert read_elf(data[:52]) == ElfHeader(32, "little", 0, ET_EXEC, EM_ARM, 0x05000400)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (MAGIC, "ELF identification cut short: 4 bytes"),
        (elf_bytes()[:63], "ELF header cut short: 63 of 64 bytes"),
        (elf_bytes(bits=32)[:51], "ELF header cut short: 51 of 52 bytes"),
        (MAGIC + b"\x03\x01" + bytes(58), "unknown ELF class 3"),
        (MAGIC + b"\x02\x00" + bytes(58), "unknown ELF byte order 0"),
    ],
    ids=["magic-only", "64-bit-cut", "32-bit-cut", "bad-class", "bad-byteorder"],
)
def test_broken_elf_is_an_error_not_a_non_elf(data: bytes, message: str) -> None:
    with pytest.raises(ElfError, match=f"^{message}$") as caught:
        read_elf(data)
    assert isinstance(caught.value, BuildxpyError)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x7fEL",
        b"#!/bin/sh\necho hi\n",
        b"hello, world\n" * 10,
        b"MZ\x90\x00" + bytes(60),  # a Windows PE file
        b"\xcf\xfa\xed\xfe" + bytes(60),  # a 64-bit Mach-O file
        b"\x00asm\x01\x00\x00\x00",  # WebAssembly
        b"\x7felf" + bytes(60),
    ],
    ids=["empty", "magic-prefix", "script", "text", "pe", "mach-o", "wasm", "lowercase-magic"],
)
def test_not_elf_is_none(data: bytes) -> None:
    assert read_elf(data) is None
    assert program_interpreter(data) is None


@pytest.mark.parametrize(("bits", "byteorder"), [(64, "little"), (32, "big"), (32, "little")])
def test_program_interpreter(bits: int, byteorder: Byteorder) -> None:
    data = elf_bytes(bits=bits, byteorder=byteorder, interpreter=b"/lib/ld-musl-x86_64.so.1")
    assert program_interpreter(data) == "/lib/ld-musl-x86_64.so.1"


def test_program_interpreter_is_none_without_pt_interp() -> None:
    assert program_interpreter(elf_bytes()) is None


def test_program_interpreter_needs_the_whole_file() -> None:
    data = elf_bytes(interpreter=b"/lib64/ld-linux-x86-64.so.2")
    with pytest.raises(ElfError, match="program headers lie beyond the 64 bytes given"):
        program_interpreter(data[:HEADER_SIZE])
    with pytest.raises(ElfError, match="program interpreter lies beyond"):
        program_interpreter(data[:-4])


@pytest.mark.parametrize(
    ("machine", "bits", "byteorder", "name"),
    [
        (0x1234, 64, "little", "machine 4660"),
        (EM_S390, 32, "little", "s390"),
        (2, 32, "big", "sparc"),
        (EM_RISCV, 32, "little", "riscv32"),
    ],
)
def test_machine_name_for_unusual_combinations(
    machine: int, bits: int, byteorder: Byteorder, name: str
) -> None:
    header = read_elf(elf_bytes(machine=machine, bits=bits, byteorder=byteorder))
    assert header is not None
    assert header.machine_name == name


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux/amd64/v3", Expected(EM_X86_64, 64, "little", None, LINUX_ABIS)),
        ("linux/arm/v7", Expected(EM_ARM, 32, "little", "hard", LINUX_ABIS)),
        ("linux/arm/v6", Expected(EM_ARM, 32, "little", None, LINUX_ABIS)),
        ("linux/arm/v5", Expected(EM_ARM, 32, "little", "soft", LINUX_ABIS)),
        ("linux/arm/v8", Expected(EM_ARM, 32, "little", None, LINUX_ABIS)),
        ("linux/s390x", Expected(EM_S390, 64, "big", None, LINUX_ABIS)),
        ("freebsd/arm64", Expected(EM_AARCH64, 64, "little", None, frozenset({9}))),
        ("windows/amd64", None),
        ("darwin/arm64", None),
        ("linux/wasm", None),
    ],
)
def test_expected_for(platform: str, expected: Expected | None) -> None:
    assert expected_for(*platform_parts(platform)) == expected


# --- shebang lines ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"#!/bin/sh\necho hi\n", Shebang("/bin/sh")),
        (b"#!/bin/sh", Shebang("/bin/sh")),
        (b"#! /bin/bash -e\n", Shebang("/bin/bash", "-e")),
        (b"#!\t/usr/bin/perl -w -T  \n", Shebang("/usr/bin/perl", "-w -T")),
        (b"#!/usr/bin/env python3\n", Shebang("/usr/bin/env", "python3", "python3")),
        (b"#!/bin/env bash\n", Shebang("/bin/env", "bash", "bash")),
        # Linux passes "python3 -u" to env as one word: env looks for a program of that name.
        (b"#!/usr/bin/env python3 -u\n", Shebang("/usr/bin/env", "python3 -u", "python3 -u")),
        (b"#!/usr/bin/env -S python3 -u\n", Shebang("/usr/bin/env", "-S python3 -u", "python3")),
        (
            b"#!/usr/bin/env -S -u HOME LANG=C -- node --x\n",
            Shebang("/usr/bin/env", "-S -u HOME LANG=C -- node --x", "node"),
        ),
        (b"#!/usr/bin/env -i python3\n", Shebang("/usr/bin/env", "-i python3")),
        (b"#!/usr/bin/env\n", Shebang("/usr/bin/env")),
        # The kernel keeps a CRLF line's "\r", so this script cannot run: say so, not "/bin/sh".
        (b"#!/bin/sh\r\n", Shebang("/bin/sh\r")),
        (b"#!/bin/sh\n" + bytes(range(256)), Shebang("/bin/sh")),
    ],
    ids=[
        "sh", "no-newline", "space-and-argument", "tab-and-arguments", "env", "bin-env",
        "env-unsplit", "env-split", "env-options", "env-option-word", "bare-env", "crlf",
        "binary-after-line",
    ],
)  # fmt: skip
def test_shebang(data: bytes, expected: Shebang) -> None:
    got = shebang(data)
    assert got == expected
    assert got is not None
    assert got.on_path is (expected.command is not None)


@pytest.mark.parametrize(
    "data",
    [b"", b"#!\n", b"#!   \n", b"\xef\xbb\xbf#!/bin/sh\n", b"# !/bin/sh\n", b"echo hi\n"],
    ids=["empty", "nothing", "blank", "bom", "space-before-bang", "no-shebang"],
)
def test_no_shebang(data: bytes) -> None:
    assert shebang(data) is None


def test_elf_has_no_shebang() -> None:
    assert shebang(elf_bytes()) is None
