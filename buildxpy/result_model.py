"""The base of buildxpy's result models."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from pydantic._internal._namespace_utils import MappingNamespace

# Empty collections are given as `Field(default=[])`, not `default_factory=list`: pydantic copies a
# default for each instance, and it inspects the signature of every factory when it builds a
# schema, which for a builtin costs more than the whole field.


class ResultModel(BaseModel):
    # A run builds a handful of the results it could return: each schema is made on first use,
    # not when its module is imported. The results a plain build makes from values it has already
    # checked (its result, routing plan and report) are made with `model_construct`: their schemas
    # are built only when something validates or serializes them (`--json`).
    model_config = ConfigDict(defer_build=True)

    # Field types a model names for type checkers only (imported under TYPE_CHECKING), as
    # {name: module}: put into the model's module when its schema is first built, so that a run
    # which never validates or serializes the model never loads theirs. Pydantic builds a deferred
    # schema through `model_rebuild`, explicitly or on first use.
    _late_types: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def model_rebuild(
        cls,
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: MappingNamespace | None = None,
    ) -> bool | None:
        late = {
            k: v for klass in cls.__mro__ for k, v in vars(klass).get("_late_types", {}).items()
        }
        # A subclass's schema reads its inherited fields' types in its own module as well.
        modules = {
            sys.modules[klass.__module__] for klass in cls.__mro__ if vars(klass).get("_late_types")
        }
        for name, source in late.items():
            for module in {*modules, sys.modules[cls.__module__]}:
                if name not in vars(module):
                    setattr(module, name, getattr(importlib.import_module(source), name))
        return super().model_rebuild(
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=_parent_namespace_depth + 1,
            _types_namespace=_types_namespace,
        )
