"""How the configuration reads a value from a flag, a variable or the file: comma lists, one item a
line, ``K=V`` maps, platforms."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, PlainValidator

from buildxpy.errors import ConfigError
from buildxpy.platforms.names import Platform, parse


def split_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


def split_lines(value: Any) -> Any:
    """A JSON list, else one item a line: for values that hold commas themselves
    (``type=sbom,generator=…``, ``index:description=a, b``, ``id=key1,key2``)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [line.strip() for line in text.splitlines() if line.strip()]
    return value


def split_map(value: Any) -> Any:
    """``K=V,K2=V2`` or a JSON object; a list of ``K=V`` strings (repeated flags) too."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            return json.loads(text)
        value = [item for item in text.split(",") if item.strip()]
    if isinstance(value, list):
        return dict(parse_pair(item) for item in value)
    return value


def parse_pair(item: str) -> tuple[str, str]:
    key, eq, val = item.partition("=")
    if not eq or not key.strip():
        raise ValueError(f"expected KEY=VALUE, got {item!r}")
    return key.strip(), val


def to_platform(value: Any) -> Platform:
    if isinstance(value, Platform):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a platform such as linux/arm64, got {type(value).__name__}")
    try:
        return parse(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


PlatformField = Annotated[Platform, PlainValidator(to_platform), PlainSerializer(str)]
PlatformList = Annotated[list[PlatformField], BeforeValidator(split_list)]
StrList = Annotated[list[str], BeforeValidator(split_list)]
StrMap = Annotated[dict[str, str], BeforeValidator(split_map)]
LineList = Annotated[list[str], BeforeValidator(split_lines)]


def dedupe(platforms: list[Platform]) -> list[Platform]:
    return list(dict.fromkeys(platforms))
