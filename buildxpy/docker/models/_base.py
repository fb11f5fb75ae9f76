"""What every docker JSON model shares, and the one-line errors for JSON that does not fit."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    model_validator,
)

from buildxpy.errors import BuildxpyError

M = TypeVar("M", bound=BaseModel)


class DockerJsonError(BuildxpyError):
    """docker or buildx printed JSON of a shape buildxpy cannot read."""


class _Model(BaseModel):
    # Schemas are built on first use: most runs read two or three of these models, not all.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        # Go prints nil slices, maps and pointers as null; dropping them lets the default stand.
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


def load_json(model: type[M], text: str, *, what: str) -> M:
    """``text`` as one ``model``; ``what`` names the source in the one-line error."""
    return _validate(model, _decode(text, what), what)


def validate_json(model: type[M], data: Any, *, what: str) -> M:
    """Decoded JSON as one ``model``, for callers that looked at it first."""
    return _validate(model, data, what)


def _records(model: type[M], text: str, what: str) -> list[M]:
    """A JSON array, or one JSON value a line."""
    if text.lstrip().startswith("["):
        items = _decode(text, what)
        return [_validate(model, item, f"{what}, item {i}") for i, item in enumerate(items, 1)]
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            where = f"{what}, line {number}"
            records.append(_validate(model, _decode(line, where), where))
    return records


def _decode(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DockerJsonError(
            f"{what}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None


def _validate(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DockerJsonError(f"{what}: {_first_problem(exc)}") from None


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if not errors[0]["loc"] and errors[0]["type"] in ("model_type", "dict_type"):
        return "not a JSON object"
    where = ".".join(str(part) for part in errors[0]["loc"]) or "top level"
    problem = " ".join(str(errors[0]["msg"]).split())
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"unexpected JSON at {where}: {problem}{more}"
