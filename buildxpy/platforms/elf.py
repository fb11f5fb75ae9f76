"""Just enough ELF to tell which platform a binary was built for, and ``#!`` lines of scripts.

Pure functions over bytes: ``buildxpy verify`` hands in the start of a file from an image layer
and compares what it finds with the platform the image's index claims.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Literal

from buildxpy.errors import BuildxpyError

MAGIC = b"\x7fELF"
# The 64-bit header is the longer one: this many bytes of a file always suffice for read_elf.
HEADER_SIZE = 64

Byteorder = Literal["little", "big"]
FloatAbi = Literal["hard", "soft"]

ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
PT_INTERP = 3
PN_XNUM = 0xFFFF

EM_386 = 3
EM_MIPS = 8
EM_PPC = 20
EM_PPC64 = 21
EM_S390 = 22
EM_ARM = 40
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243
EM_LOONGARCH = 258

ELFOSABI_SYSV = 0
ELFOSABI_GNU = 3
ELFOSABI_FREEBSD = 9
ELFOSABI_ARM = 97

EF_ARM_EABIMASK = 0xFF000000
EF_ARM_ABI_FLOAT_SOFT = 0x200
EF_ARM_ABI_FLOAT_HARD = 0x400

_CLASSES = {1: 32, 2: 64}
_FILE_TYPES = {ET_REL: "relocatable object", ET_EXEC: "executable", ET_DYN: "shared object",
               ET_CORE: "core dump"}  # fmt: skip
_BYTEORDERS: dict[int, Byteorder] = {1: "little", 2: "big"}
_OS_ABI_NAMES = {
    0: "SYSV", 1: "HP-UX", 2: "NetBSD", 3: "GNU/Linux", 6: "Solaris", 7: "AIX", 8: "IRIX",
    9: "FreeBSD", 12: "OpenBSD", 97: "ARM", 255: "standalone",
}  # fmt: skip
# uname -m style names: e_machine alone cannot tell s390x from s390 or ppc64le from ppc64.
_MACHINE_NAMES: dict[tuple[int, int, Byteorder], str] = {
    (EM_X86_64, 64, "little"): "x86_64", (EM_X86_64, 32, "little"): "x32",
    (EM_386, 32, "little"): "i386",
    (EM_AARCH64, 64, "little"): "aarch64", (EM_AARCH64, 64, "big"): "aarch64_be",
    (EM_ARM, 32, "little"): "arm", (EM_ARM, 32, "big"): "armeb",
    (EM_PPC64, 64, "little"): "ppc64le", (EM_PPC64, 64, "big"): "ppc64",
    (EM_PPC, 32, "big"): "ppc", (EM_PPC, 32, "little"): "ppcle",
    (EM_S390, 64, "big"): "s390x", (EM_S390, 32, "big"): "s390",
    (EM_RISCV, 64, "little"): "riscv64", (EM_RISCV, 32, "little"): "riscv32",
    (EM_MIPS, 64, "little"): "mips64el", (EM_MIPS, 64, "big"): "mips64",
    (EM_MIPS, 32, "little"): "mipsel", (EM_MIPS, 32, "big"): "mips",
    (EM_LOONGARCH, 64, "little"): "loongarch64", (EM_LOONGARCH, 32, "little"): "loongarch32",
}  # fmt: skip
# For a class or byte order the table above does not list, and for machines nobody ships images of.
_MACHINE_FAMILIES = {
    EM_386: "i386", EM_MIPS: "mips", EM_PPC: "ppc", EM_PPC64: "ppc64", EM_S390: "s390",
    EM_ARM: "arm", EM_X86_64: "x86_64", EM_AARCH64: "aarch64", EM_RISCV: "riscv",
    EM_LOONGARCH: "loongarch", 2: "sparc", 4: "m68k", 15: "parisc", 42: "sh", 43: "sparc64",
    50: "ia64", 0x9026: "alpha",
}  # fmt: skip


class ElfError(BuildxpyError):
    """The bytes start like ELF but cannot be read as such (cut short, unknown class, ...)."""


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the fields sit: only addresses and offsets grow, from 4 to 8 bytes, in 64-bit ELF."""

    header_size: int
    flags_at: int
    phoff_at: int
    phentsize_at: int  # e_phnum follows it
    word: str  # struct code of an address or offset
    phdr_size: int
    p_offset_at: int
    p_filesz_at: int


_LAYOUTS = {
    32: _Layout(52, flags_at=36, phoff_at=28, phentsize_at=42, word="I", phdr_size=32,
                p_offset_at=4, p_filesz_at=16),
    64: _Layout(64, flags_at=48, phoff_at=32, phentsize_at=54, word="Q", phdr_size=56,
                p_offset_at=8, p_filesz_at=32),
}  # fmt: skip


def _machine_name(machine: int, bits: int, byteorder: Byteorder) -> str:
    name = _MACHINE_NAMES.get((machine, bits, byteorder))
    return name or _MACHINE_FAMILIES.get(machine, f"machine {machine}")


def _elf_identity(bits: int, byteorder: Byteorder, machine: int) -> str:
    order = "LSB" if byteorder == "little" else "MSB"
    return f"ELF {bits}-bit {order} {_machine_name(machine, bits, byteorder)}"


@dataclass(frozen=True, slots=True)
class ElfHeader:
    bits: int  # 32 or 64 (EI_CLASS)
    byteorder: Byteorder  # EI_DATA
    os_abi: int  # EI_OSABI
    file_type: int  # e_type: ET_EXEC, ET_DYN (PIE and shared objects), ...
    machine: int  # e_machine
    flags: int  # e_flags, whose meaning depends on the machine

    @property
    def machine_name(self) -> str:
        return _machine_name(self.machine, self.bits, self.byteorder)

    @property
    def os_abi_name(self) -> str:
        return _OS_ABI_NAMES.get(self.os_abi, f"OS ABI {self.os_abi}")

    @property
    def arm_eabi(self) -> int | None:
        """The ARM EABI version (5 today, 0 for the old ABI); None for other machines."""
        if self.machine != EM_ARM:
            return None
        return (self.flags & EF_ARM_EABIMASK) >> 24

    @property
    def float_abi(self) -> FloatAbi | None:
        """ARM's float calling convention, as EABI5 records it; None when unrecorded."""
        # Older ABIs used these two bits for other things.
        if self.arm_eabi != 5:
            return None
        if self.flags & EF_ARM_ABI_FLOAT_HARD:
            return "hard"
        if self.flags & EF_ARM_ABI_FLOAT_SOFT:
            return "soft"
        return None

    def describe(self) -> str:
        """``ELF 32-bit LSB arm, EABI5 hard-float``: the identity platforms are matched on."""
        text = _elf_identity(self.bits, self.byteorder, self.machine)
        if self.arm_eabi is not None:
            text += f", EABI{self.arm_eabi}" if self.arm_eabi else ", old ABI"
            if self.float_abi:
                text += f" {self.float_abi}-float"
        # SYSV and GNU both mean plain Unix or Linux; any other OS ABI is worth showing.
        if self.os_abi not in (ELFOSABI_SYSV, ELFOSABI_GNU):
            text += f" ({self.os_abi_name})"
        return text


def read_elf(data: bytes) -> ElfHeader | None:
    """Read the ELF header from the start of a file (HEADER_SIZE bytes are enough).

    None when the bytes are not ELF at all (a script, text, another format); ElfError when they
    start like ELF but the header is cut short or malformed.
    """
    if not data.startswith(MAGIC):
        return None
    if len(data) < 6:
        raise ElfError(f"ELF identification cut short: {len(data)} bytes")
    bits = _CLASSES.get(data[4])
    byteorder = _BYTEORDERS.get(data[5])
    if bits is None:
        raise ElfError(f"unknown ELF class {data[4]}")
    if byteorder is None:
        raise ElfError(f"unknown ELF byte order {data[5]}")
    layout = _LAYOUTS[bits]
    if len(data) < layout.header_size:
        raise ElfError(f"ELF header cut short: {len(data)} of {layout.header_size} bytes")
    end = "<" if byteorder == "little" else ">"
    file_type, machine = struct.unpack_from(f"{end}HH", data, 16)
    (flags,) = struct.unpack_from(f"{end}I", data, layout.flags_at)
    return ElfHeader(bits, byteorder, data[7], file_type, machine, flags)


def program_interpreter(data: bytes) -> str | None:
    """The dynamic loader a whole ELF file asks for (PT_INTERP): ``/lib/ld-musl-x86_64.so.1``.

    None for a static binary and for bytes that are not ELF. ElfError when the program headers
    or the loader's name lie beyond the bytes given: pass the whole file.
    """
    header = read_elf(data)
    if header is None:
        return None
    layout = _LAYOUTS[header.bits]
    end = "<" if header.byteorder == "little" else ">"
    (phoff,) = struct.unpack_from(f"{end}{layout.word}", data, layout.phoff_at)
    phentsize, phnum = struct.unpack_from(f"{end}HH", data, layout.phentsize_at)
    if phnum == 0:
        return None
    if phnum == PN_XNUM:
        raise ElfError("more program headers than e_phnum can count: not an executable")
    if phentsize < layout.phdr_size:
        raise ElfError(f"program header entries of {phentsize} bytes, expected {layout.phdr_size}")
    if phoff + phnum * phentsize > len(data):
        raise ElfError(f"program headers lie beyond the {len(data)} bytes given")
    for at in range(phoff, phoff + phnum * phentsize, phentsize):
        (p_type,) = struct.unpack_from(f"{end}I", data, at)
        if p_type != PT_INTERP:
            continue
        (offset,) = struct.unpack_from(f"{end}{layout.word}", data, at + layout.p_offset_at)
        (size,) = struct.unpack_from(f"{end}{layout.word}", data, at + layout.p_filesz_at)
        if offset + size > len(data):
            raise ElfError(f"the program interpreter lies beyond the {len(data)} bytes given")
        name = data[offset : offset + size].split(b"\0", 1)[0]
        if not name:
            raise ElfError("empty program interpreter")
        return name.decode("utf-8", "surrogateescape")
    return None


@dataclass(frozen=True, slots=True)
class Shebang:
    """A script's ``#!`` line, read the way the Linux kernel reads it."""

    interpreter: str  # the file the kernel runs: the first word after ``#!``
    argument: str = ""  # the rest of the line, which the kernel passes as one single argument
    # For ``#!/usr/bin/env NAME``: NAME, which env looks up on PATH, so the image's PATH decides
    # which binary runs. None when the interpreter runs the script itself.
    command: str | None = None

    @property
    def on_path(self) -> bool:
        return self.command is not None


# The kernel splits the line at the first space or tab and strips only spaces and tabs, so a
# CRLF script asks for "/bin/sh\r" (and fails to run): keep the "\r" to report that faithfully.
_SHEBANG_LINE = re.compile(r"[ \t]*([^ \t]+)[ \t]*(.*?)[ \t]*")
_ENV_SPLIT = re.compile(r"^(?:-S|--split-string=)(.*)$")
# env options that take the next word as their value.
_ENV_VALUE_OPTIONS = frozenset({"-u", "--unset", "-C", "--chdir"})


def shebang(data: bytes) -> Shebang | None:
    """The ``#!`` line at the start of a file; None when there is none (or it names nothing)."""
    if not data.startswith(b"#!"):
        return None
    end = data.find(b"\n")
    line = data[2 : end if end >= 0 else len(data)].decode("utf-8", "surrogateescape")
    match = _SHEBANG_LINE.fullmatch(line)
    if match is None:
        return None
    interpreter, argument = match.groups()
    command = _env_command(argument) if PurePosixPath(interpreter).name == "env" else None
    return Shebang(interpreter, argument, command)


def _env_command(argument: str) -> str | None:
    """The program ``env ARGUMENT`` runs, ARGUMENT being the single word the kernel passes."""
    split = _ENV_SPLIT.match(argument)
    if split is None:
        # Unsplit, "python3 -u" is one word, the name of a program PATH will not have; and an
        # option word such as "-i python3" is rejected by env.
        return None if not argument or argument.startswith("-") else argument
    words = iter(split.group(1).split())
    for word in words:
        if word in _ENV_VALUE_OPTIONS:
            next(words, None)
        elif word == "--":
            return next(words, None)
        elif not word.startswith("-") and "=" not in word:
            return word
    return None


@dataclass(frozen=True, slots=True)
class Expected:
    """What the binaries of one platform look like."""

    machine: int
    bits: int
    byteorder: Byteorder
    # The float ABI usual for this ARM variant. Another one is only noted: a soft-float (armel)
    # static busybox runs fine in an arm/v7 image.
    float_abi: FloatAbi | None = None
    os_abis: frozenset[int] = frozenset()

    def describe(self) -> str:
        return _elf_identity(self.bits, self.byteorder, self.machine)


# (arch, variant) as buildx normalises them; ("arm", "") holds for variants not listed. v6 has
# no usual float ABI: Debian's armel is soft-float, Alpine's and Raspbian's v6 are hard-float.
_EXPECTED: dict[tuple[str, str], Expected] = {
    ("amd64", ""): Expected(EM_X86_64, 64, "little"),
    ("arm64", ""): Expected(EM_AARCH64, 64, "little"),
    ("arm", ""): Expected(EM_ARM, 32, "little"),
    ("arm", "v5"): Expected(EM_ARM, 32, "little", float_abi="soft"),
    ("arm", "v7"): Expected(EM_ARM, 32, "little", float_abi="hard"),
    ("386", ""): Expected(EM_386, 32, "little"),
    ("ppc64le", ""): Expected(EM_PPC64, 64, "little"),
    ("ppc64", ""): Expected(EM_PPC64, 64, "big"),
    ("s390x", ""): Expected(EM_S390, 64, "big"),
    ("riscv64", ""): Expected(EM_RISCV, 64, "little"),
    ("mips64le", ""): Expected(EM_MIPS, 64, "little"),
    ("mips64", ""): Expected(EM_MIPS, 64, "big"),
    ("mipsle", ""): Expected(EM_MIPS, 32, "little"),
    ("mips", ""): Expected(EM_MIPS, 32, "big"),
    ("loong64", ""): Expected(EM_LOONGARCH, 64, "little"),
}
# Linux binaries say SYSV, or GNU once they use a GNU extension (glibc's static binaries do);
# old-ABI ARM toolchains wrote ARM. The Linux kernel itself ignores the field.
_OS_ABIS = {
    "linux": frozenset({ELFOSABI_SYSV, ELFOSABI_GNU, ELFOSABI_ARM}),
    "freebsd": frozenset({ELFOSABI_FREEBSD}),
}


def expected_for(os: str, arch: str, variant: str = "") -> Expected | None:
    """What an ELF binary of ``os/arch[/variant]`` must be; None when no ELF binary fits it
    (windows and darwin use other formats; wasm has no machine code)."""
    base = _EXPECTED.get((arch, variant)) or _EXPECTED.get((arch, ""))
    os_abis = _OS_ABIS.get(os)
    if base is None or os_abis is None:
        return None
    return replace(base, os_abis=os_abis)


@dataclass(frozen=True, slots=True)
class Verdict:
    problems: tuple[str, ...] = ()  # why the binary cannot be the platform's
    notes: tuple[str, ...] = ()  # worth reporting, not failing on

    @property
    def ok(self) -> bool:
        return not self.problems


def check(header: ElfHeader, os: str, arch: str, variant: str = "") -> Verdict:
    """Whether a binary with this header belongs in an ``os/arch[/variant]`` image, and why not."""
    platform = "/".join(p for p in (os, arch, variant) if p)
    want = expected_for(os, arch, variant)
    if want is None:
        return Verdict(problems=(f"{platform} has no ELF binaries",))
    problems = []
    if (header.machine, header.bits, header.byteorder) != (want.machine, want.bits, want.byteorder):
        problems.append(f"{header.describe()}, but {platform} needs {want.describe()}")
    if header.os_abi not in want.os_abis:
        problems.append(f"built for {header.os_abi_name}, not {os}")
    if header.file_type not in (ET_EXEC, ET_DYN):
        kind = _FILE_TYPES.get(header.file_type, f"ELF type {header.file_type}")
        problems.append(f"a {kind}, not an executable")
    notes = () if problems else _arm_notes(header, want, platform)
    return Verdict(tuple(problems), notes)


def matches(header: ElfHeader, os: str, arch: str, variant: str = "") -> bool:
    return check(header, os, arch, variant).ok


def _arm_notes(header: ElfHeader, want: Expected, platform: str) -> tuple[str, ...]:
    if header.arm_eabi == 0:
        # arm64 kernels run 32-bit ARM code only under EABI.
        return ("old ARM ABI (not EABI): runs only on kernels built with OABI compatibility",)
    if header.float_abi and want.float_abi and header.float_abi != want.float_abi:
        return (
            f"{header.float_abi}-float ABI, where {platform} is usually {want.float_abi}-float",
        )
    return ()
