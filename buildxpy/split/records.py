"""Digest records: what one per-platform build pushed, kept as
``{output_dir}/digests/{os}-{arch}[-{variant}].json`` so a later ``merge`` (another job, another
machine) can make the index from them."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError, field_validator

from buildxpy.docker.references import REPOSITORY
from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.platforms.names import Platform, parse
from buildxpy.result_model import ResultModel

RECORDS_DIR = "digests"
_DIGEST = r"^sha256:[0-9a-f]{64}$"


class DigestRecord(ResultModel):
    image: str
    platform: str
    digest: str
    # The node that built it and whether it ran the platform natively (None: unknown).
    node: str | None = None
    native: bool | None = None

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not re.match(REPOSITORY, value):
            raise ValueError(f"invalid image {value!r}")
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        try:
            return str(parse(value))
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        if not re.match(_DIGEST, value):
            raise ValueError(f"invalid digest {value!r}: expected sha256:<64 hex digits>")
        return value

    @property
    def source(self) -> str:
        return f"{self.image}@{self.digest}"


def records_dir(output_dir: Path) -> Path:
    return output_dir / RECORDS_DIR


def record_path(output_dir: Path, platform: Platform) -> Path:
    return records_dir(output_dir) / f"{platform.slug}.json"


def write_record(path: Path, record: DigestRecord) -> None:
    """Appears whole or not at all: a reader (a merge in another process) never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise BuildxpyError(f"cannot write the digest record {path}: {exc.strerror}") from None
    temp = Path(name)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(record.model_dump_json(indent=2) + "\n")
        temp.chmod(0o644)
        temp.replace(path)
    except OSError as exc:
        raise BuildxpyError(f"cannot write the digest record {path}: {exc.strerror}") from None
    finally:
        temp.unlink(missing_ok=True)


def read_record(path: Path) -> DigestRecord:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"no such digest record: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the digest record {path}: {exc.strerror}") from None
    try:
        return DigestRecord.model_validate_json(text)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in problem["loc"]) or "top level"
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{path} is not a digest record: {where}: {message}") from None


def record_files(directory: Path) -> list[Path]:
    """The records in ``directory`` (not the hidden files buildxpy keeps next to them)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.json") if not p.name.startswith("."))


def read_records(paths: Iterable[Path]) -> list[DigestRecord]:
    return [read_record(path) for path in paths]
