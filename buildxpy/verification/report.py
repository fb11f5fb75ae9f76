"""What ``buildxpy verify`` found: one report per platform, and the one line that names every
mismatch."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field

from buildxpy.errors import BuildxpyError
from buildxpy.result_model import ResultModel

Status = Literal["ok", "mismatch", "missing", "extra"]


class PlatformVerdict(ResultModel):
    # The index entry's platform; for a lone manifest its config's; for a missing one, expected.
    platform: str
    digest: str | None = None
    config_platform: str | None = None
    command: list[str] = Field(default=[])
    # The files exec runs, each with what it is: "/bin/sh (ELF 64-bit LSB x86_64)".
    chain: list[str] = Field(default=[])
    binary: str | None = None  # the ELF binary checked last
    elf: str | None = None  # what that binary is
    status: Status = "ok"
    problems: list[str] = Field(default=[])
    notes: list[str] = Field(default=[])

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.problems


class VerifyReport(ResultModel):
    ref: str
    digest: str
    media_type: str
    is_index: bool
    # None: the platform set was not checked (nothing to compare it with).
    expected: list[str] | None
    platforms: list[PlatformVerdict]
    notes: list[str] = Field(default=[])

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.platforms)

    @property
    def mismatches(self) -> list[str]:
        """Every problem, each prefixed with its platform."""
        return [f"{p.platform}: {problem}" for p in self.platforms for problem in p.problems]

    def error_message(self, subject: str | None = None) -> str:
        """``REF is not what it claims: linux/amd64: …; linux/arm/v7: missing from the index``"""
        return f"{subject or self.ref + ' is'} not what it claims: " + "; ".join(self.mismatches)

    def raise_for_mismatch(self) -> VerifyReport:
        if not self.ok:
            raise VerificationFailed(self)
        return self


class VerificationFailed(BuildxpyError):
    """The image's index, configs or binaries disagree about its platforms."""

    def __init__(self, report: VerifyReport, message: str | None = None) -> None:
        super().__init__(message or report.error_message())
        self.report = report
