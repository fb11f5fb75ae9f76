"""What ``native_build`` returns. Apart from it so that a plain build loads the report's, the plan's
and the records' models while docker builds, not before."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from buildxpy.builders.routing import RoutingPlan
from buildxpy.builds.one_build import BuildResult
from buildxpy.builds.report import BuildReport

if TYPE_CHECKING:
    from buildxpy.split.options import MergeResult
    from buildxpy.split.records import DigestRecord


class NativeBuildResult(BuildResult):
    # Only builds by digest and split builds fill these; their models load with the schema.
    _late_types: ClassVar[Mapping[str, str]] = {
        "DigestRecord": "buildxpy.split.records",
        "MergeResult": "buildxpy.split.options",
    }

    plan: RoutingPlan | None = None
    report: BuildReport | None = None
    # --by-digest and --split: the records written (or kept from an earlier run).
    records: list[DigestRecord] = Field(default=[])
    merge: MergeResult | None = None
    # --split: the platforms this run built (the others' records were kept from an earlier run).
    built: list[str] = Field(default=[])
