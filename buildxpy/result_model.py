"""The base of buildxpy's result models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# Empty collections are given as `Field(default=[])`, not `default_factory=list`: pydantic copies a
# default for each instance, and it inspects the signature of every factory when it builds a
# schema, which for a builtin costs more than the whole field.


class ResultModel(BaseModel):
    # A run builds a handful of the results it could return: each schema is made on first use,
    # not when its module is imported. The results a plain build makes from values it has already
    # checked (its result, routing plan and report) are made with `model_construct`: their schemas
    # are built only when something validates or serializes them (`--json`).
    model_config = ConfigDict(defer_build=True)
