"""The bases a build pulls, read from its Dockerfile: variables, stages, targets, contexts."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from buildxpy.errors import ConfigError
from buildxpy.platforms.names import parse
from buildxpy.preflight.dockerfile import GlobalArg, parse_dockerfile
from buildxpy.preflight.plan import BasePlan, plan_bases, short_name
from buildxpy.preflight.words import expand

AMD64_ARM64 = ("linux/amd64", "linux/arm64")


@dataclass(frozen=True)
class Case:
    id: str
    dockerfile: str
    # base -> the platforms it is pulled for
    bases: Mapping[str, tuple[str, ...]]
    platforms: tuple[str, ...] = AMD64_ARM64
    target: str | None = None
    build_args: Mapping[str, str | None] = field(default_factory=dict)
    contexts: Mapping[str, str] = field(default_factory=dict)
    # what could not be named, as far as it was replaced
    unresolved: tuple[str, ...] = ()


def plan(case: Case) -> BasePlan:
    return plan_bases(
        textwrap.dedent(case.dockerfile),
        platforms=[parse(p) for p in case.platforms],
        build_platform=parse("linux/amd64"),
        target=case.target,
        build_args=case.build_args,
        build_contexts=case.contexts,
    )


def bases_of(found: BasePlan) -> dict[str, tuple[str, ...]]:
    return {base.ref: tuple(str(p) for p in base.platforms) for base in found.bases}


BOTH = {"alpine:3.20": AMD64_ARM64}

CASES = [
    Case("one stage", "FROM alpine:3.20\nRUN true\n", BOTH),
    Case("keyword case and tabs", "from\talpine:3.20\n", BOTH),
    Case("ARG default", "ARG BASE=alpine:3.20\nFROM ${BASE}\n", BOTH),
    Case("ARG default, bare $", "ARG BASE=alpine:3.20\nFROM $BASE\n", BOTH),
    Case("quoted ARG default", 'ARG BASE="alpine:3.20"\nFROM $BASE\n', BOTH),
    Case("two ARGs on one line", "ARG IMG=alpine TAG=3.20\nFROM $IMG:$TAG\n", BOTH),
    Case("a build arg beats the default", "ARG BASE=debian:12\nFROM $BASE\n", BOTH,
         build_args={"BASE": "alpine:3.20"}),
    Case("a build arg given as None leaves the default", "ARG BASE=alpine:3.20\nFROM $BASE\n",
         BOTH, build_args={"BASE": None}),
    Case("a default uses the ARG above it",
         "ARG REGISTRY=r.example\nARG BASE=$REGISTRY/app:1\nFROM ${BASE}\n",
         {"r.example/app:1": AMD64_ARM64}),
    Case("a build arg reaches the ARG below it",
         "ARG REGISTRY=r.example\nARG BASE=$REGISTRY/app:1\nFROM ${BASE}\n",
         {"mirror.example/app:1": AMD64_ARM64}, build_args={"REGISTRY": "mirror.example"}),
    Case("${VAR:-default} for an undeclared name", "FROM ${BASE:-alpine:3.20}\n", BOTH),
    Case("${VAR:-default} for a declared empty one", "ARG BASE=\nFROM ${BASE:-alpine:3.20}\n",
         BOTH),
    Case("${VAR-default} keeps a declared empty one", "ARG T=\nFROM alpine:3.20${T-x}\n", BOTH),
    Case("${VAR:+alt}", "ARG SLIM=1\nFROM alpine:3.20${SLIM:+-slim}\n",
         {"alpine:3.20-slim": AMD64_ARM64}),
    Case("a declared ARG without a value is empty", "ARG SUFFIX\nFROM alpine:3.20$SUFFIX\n",
         BOTH),
    Case("a build arg nobody declared changes nothing", "FROM $BASE\n", {},
         build_args={"BASE": "alpine:3.20"}, unresolved=("$BASE",)),
    Case("an ARG inside a stage is not seen by FROM",
         "FROM alpine:3.20 AS a\nARG NEXT=debian:12\nFROM $NEXT\n", {}, unresolved=("$NEXT",)),
    Case("an undeclared name in a reference", "FROM alpine:${TAG}\n", {},
         unresolved=("alpine:${TAG}",)),
    Case("a form not replaced", "ARG B=alpine:3.20-x\nFROM ${B%-x}\n", {},
         unresolved=("${B%-x}",)),
    Case("a base that comes out empty", "ARG BASE\nFROM $BASE\n", {}, unresolved=("$BASE",)),
    Case("the automatic platform arguments, per platform", "FROM app:1-$TARGETARCH\n",
         {"app:1-amd64": ("linux/amd64",), "app:1-arm64": ("linux/arm64",)}),
    Case("a stage chosen by TARGETARCH",
         "FROM alpine:3.20 AS base-amd64\nFROM debian:12 AS base-arm64\nFROM base-${TARGETARCH}\n",
         {"alpine:3.20": ("linux/amd64",), "debian:12": ("linux/arm64",)}),
    Case("TARGETVARIANT", "FROM app:${TARGETARCH}${TARGETVARIANT}\n",
         {"app:armv7": ("linux/arm/v7",)}, platforms=("linux/arm/v7",)),
    Case("multi-stage: the build stage for the build platform",
         """\
         FROM --platform=$BUILDPLATFORM golang:1.22 AS build
         RUN go build -o /app .
         FROM alpine:3.20
         COPY --from=build /app /app
         """,
         {"golang:1.22": ("linux/amd64",), "alpine:3.20": AMD64_ARM64}),
    Case("FROM --platform with a fixed platform",
         "FROM --platform=linux/arm64/v8 tool:1 AS t\nFROM alpine:3.20\nCOPY --from=t / /\n",
         {"tool:1": ("linux/arm64",), "alpine:3.20": AMD64_ARM64}),
    Case("FROM --platform=$TARGETPLATFORM", "FROM --platform=$TARGETPLATFORM alpine:3.20\n",
         BOTH),
    Case("COPY --from a stage index",
         "FROM golang:1.22\nRUN true\nFROM alpine:3.20\nCOPY --from=0 /a /a\n",
         {"golang:1.22": AMD64_ARM64, "alpine:3.20": AMD64_ARM64}),
    Case("COPY --from an image: pulled for the target platform",
         "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nCOPY --from=tools:2 /x /x\n"
         "FROM alpine:3.20\nCOPY --from=build /x /x\n",
         {"golang:1.22": ("linux/amd64",), "tools:2": AMD64_ARM64, "alpine:3.20": AMD64_ARM64}),
    Case("COPY with other flags before --from",
         "FROM debian:12 AS b\nFROM alpine:3.20\nCOPY --link --chown=1:1 --from=b /a /a\n",
         {"debian:12": AMD64_ARM64, "alpine:3.20": AMD64_ARM64}),
    Case("RUN --mount from a stage",
         """\
         FROM debian:12 AS deps
         FROM alpine:3.20
         RUN --mount=type=cache,target=/c --mount=type=bind,from=deps,source=/x,target=/y true
         """,
         {"debian:12": AMD64_ARM64, "alpine:3.20": AMD64_ARM64}),
    Case("a stage nothing needs is not pulled",
         "FROM debian:12 AS unused\nFROM alpine:3.20\n", BOTH),
    Case("a stage built FROM an earlier one",
         "FROM alpine:3.20 AS base\nFROM base AS final\nRUN true\n", BOTH),
    Case("stage names compare without case",
         "FROM alpine:3.20 AS Base\nFROM BASE\n", BOTH),
    Case("needs are followed transitively",
         """\
         FROM debian:12 AS a
         FROM busybox:1 AS b
         COPY --from=a / /
         FROM b AS c
         FROM alpine:3.20
         COPY --from=c / /
         """,
         {"debian:12": AMD64_ARM64, "busybox:1": AMD64_ARM64, "alpine:3.20": AMD64_ARM64}),
    Case("--target picks a stage",
         "FROM debian:12 AS dev\nFROM alpine:3.20 AS prod\nFROM busybox:1 AS test\n",
         BOTH, target="PROD"),
    Case("scratch is no image", "FROM golang:1.22 AS b\nFROM scratch\nCOPY --from=b /a /a\n",
         {"golang:1.22": AMD64_ARM64}),
    Case("a named context stands in for a base", "FROM alpine:3.20 AS a\nFROM debian:12\n"
         "COPY --from=a / /\n", {"debian:12": AMD64_ARM64}, contexts={"alpine:3.20": "./dir"}),
    Case("a named context in its short form",
         "FROM docker.io/library/alpine:latest\n", {}, contexts={"alpine": "docker-image://x"}),
    Case("a platform-specific named context",
         "FROM alpine\n", {}, contexts={"alpine::linux/arm64": "docker-image://x"}),
    Case("a named context stands in for a stage and what it needs",
         "FROM debian:12 AS deps\nFROM golang:1.22 AS build\nCOPY --from=deps / /\n"
         "FROM alpine:3.20\nCOPY --from=build / /\n",
         BOTH, contexts={"build": "./prebuilt"}),
    Case("a named context stands in for a COPY --from image",
         "FROM alpine:3.20\nCOPY --from=tools / /\n", BOTH, contexts={"tools": "./tools"}),
    Case("a digest reference is kept",
         "FROM alpine:3.20@sha256:" + "a" * 64 + "\n",
         {"alpine:3.20@sha256:" + "a" * 64: AMD64_ARM64}),
    Case("one base used twice is one base",
         "FROM alpine:3.20 AS a\nFROM alpine:3.20\nCOPY --from=a / /\n", BOTH),
    Case("no FROM at all", "# nothing\n", {}),
    Case("continuation lines",
         """\
         ARG BASE=alpine:\\
         3.20
         FROM \\
             ${BASE} \\
             AS \\
             final
         """,
         BOTH),
    Case("comments and blank lines inside a continuation",
         "FROM --platform=$BUILDPLATFORM \\\n# a comment\n\n    golang:1.22 AS b\n"
         "FROM alpine:3.20\nCOPY --from=b / /\n",
         {"golang:1.22": ("linux/amd64",), "alpine:3.20": AMD64_ARM64}),
    Case("the escape directive",
         "# syntax=docker/dockerfile:1\n# escape=`\nFROM `\n  alpine:3.20\nRUN dir c:\\\n",
         BOTH),
    Case("a backslash is plain text under escape=`",
         "# escape=`\nFROM alpine:3.20\nRUN echo a \\\nFROM debian:12\n",
         {"debian:12": AMD64_ARM64}),
    Case("a directive after the first instruction is a comment",
         "FROM alpine:3.20\n# escape=`\nRUN echo `\nFROM debian:12\n",
         {"debian:12": AMD64_ARM64}),
    Case("here-document bodies are not instructions",
         """\
         FROM alpine:3.20
         COPY <<EOF /etc/motd
         FROM debian:12
         EOF
         RUN <<-'SCRIPT' sh
         \tFROM busybox:1
         \tSCRIPT
         """,
         BOTH),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bases_of_a_dockerfile(case: Case) -> None:
    found = plan(case)
    assert bases_of(found) == case.bases
    assert tuple(item.text for item in found.unresolved) == case.unresolved


def test_an_unresolved_base_says_where_and_why() -> None:
    found = plan(Case("", "FROM alpine:3.20 AS a\nRUN true\nFROM $BASE\n", {}))
    (item,) = found.unresolved
    assert item.line == 3
    assert "declares" in item.reason


def test_an_unknown_target_is_an_error() -> None:
    with pytest.raises(ConfigError, match="target stage 'nope' is not in the Dockerfile"):
        plan(Case("", "FROM alpine:3.20 AS a\n", {}, target="nope"))


def test_the_parse_keeps_the_words_as_written() -> None:
    parsed = parse_dockerfile(
        'ARG A="x y" B\nFROM --platform=$BUILDPLATFORM ${A} AS One\n'
        "COPY --from=zero /a /a\nRUN --mount=from=two,target=/t true\nFROM one\n"
    )
    assert parsed.escape == "\\"
    assert parsed.args == (GlobalArg("A", '"x y"'), GlobalArg("B", None))
    first, second = parsed.stages
    assert (first.base, first.name, first.platform) == ("${A}", "one", "$BUILDPLATFORM")
    assert first.sources == ("zero", "two")
    assert (second.index, second.line, second.base, second.name) == (1, 5, "one", None)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("$A", "a"),
        ("${A}b", "ab"),
        ("'$A'", "$A"),
        ('"$A"', "a"),
        ("\\$A", "$A"),
        ("$", "$"),
        ("$1", "$1"),
        ("${NOPE}", "${NOPE}"),
        ("$NOPE-x", "$NOPE-x"),
        ("${EMPTY}", ""),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${NONE-d}", "d"),
        ("${NONE:-d}", "d"),
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${NOPE:-${A}x}", "ax"),
        ("${A", "${A"),
    ],
)
def test_words_are_replaced_as_buildkit_replaces_them(word: str, expected: str) -> None:
    values: dict[str, str | None] = {"A": "a", "EMPTY": "", "NONE": None}
    assert expand(word, values) == expected


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("docker.io/library/alpine:latest", "alpine"),
        ("alpine", "alpine"),
        ("index.docker.io/library/alpine:3", "alpine:3"),
        ("docker.io/me/app:latest", "me/app"),
        ("127.0.0.1:5000/library/app:latest", "127.0.0.1:5000/library/app"),
        ("Build", "build"),
    ],
)
def test_short_names_of_images(name: str, short: str) -> None:
    assert short_name(name) == short
