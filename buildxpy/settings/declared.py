"""The settings of the declared build inputs (``builds.buildx_inputs``): one field each, whose
type, reading (a comma list, one item a line, a ``K=V`` map) and check come from its declaration.
``Settings`` is made on top of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import AfterValidator, BeforeValidator, Field, create_model
from pydantic_settings import BaseSettings

from buildxpy.builds.buildx_inputs import DECLARED, BuildxInputs
from buildxpy.builds.input_declaration import Declared
from buildxpy.settings.values import split_lines, split_list, split_map


def field_of(item: Declared) -> tuple[Any, Any]:
    """The field's type and default."""
    checked = AfterValidator(item.checked)
    if item.kind == "switch":
        return bool, False
    if item.kind == "value":
        return Annotated[str | None, checked], None
    if item.kind == "list":
        split = split_lines if item.input.lines else split_list
        return Annotated[list[str], BeforeValidator(split), checked], Field(default=[])
    return Annotated[dict[str, str], BeforeValidator(split_map), checked], Field(default={})


class _Declared(BaseSettings):
    def declared(self) -> BuildxInputs:
        """The declared inputs' values, typed as the declaration types them (its fields are made
        at run time, so a type checker knows them only through this)."""
        return cast(BuildxInputs, {item.name: getattr(self, item.name) for item in DECLARED})


if TYPE_CHECKING:
    DeclaredInputSettings = _Declared
else:
    DeclaredInputSettings = create_model(
        "DeclaredInputSettings",
        __base__=_Declared,
        **{item.name: field_of(item) for item in DECLARED},
    )
