"""The base of buildxpy's result models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResultModel(BaseModel):
    # A run builds a handful of the results it could return: each schema is made on first use,
    # not when its module is imported.
    model_config = ConfigDict(defer_build=True)
