"""What ``native_build`` returns. Apart from it so that a plain build loads the report's, the plan's
and the records' models while docker builds, not before."""

from __future__ import annotations

from pydantic import Field

from buildxpy.build_report import BuildReport
from buildxpy.digest_records import DigestRecord
from buildxpy.image_build import BuildResult
from buildxpy.merge_options import MergeResult
from buildxpy.routing import RoutingPlan


class NativeBuildResult(BuildResult):
    plan: RoutingPlan | None = None
    report: BuildReport | None = None
    # --by-digest and --split: the records written (or kept from an earlier run).
    records: list[DigestRecord] = Field(default=[])
    merge: MergeResult | None = None
    # --split: the platforms this run built (the others' records were kept from an earlier run).
    built: list[str] = Field(default=[])
