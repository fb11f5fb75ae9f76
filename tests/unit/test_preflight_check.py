"""The preflight of a build against registry answers at the subprocess seam (recorded
`imagetools inspect` output where there is some)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from buildxpy.docker.runner import Completed
from buildxpy.errors import BuildxpyError
from buildxpy.platforms.names import parse
from buildxpy.preflight import PreflightFailed, preflight
from buildxpy.preflight.matching import normalized, serves
from tests.fake_registry import index
from tests.fakes import Call, FakeRunner

DATA = Path(__file__).parent.parent / "data"
RECORDED = DATA / "recorded"
# What the bed's registry served, as buildx 0.29.1 printed it.
RECORDED_INDEX = (RECORDED / "imagetools-raw-v0.29.1-index.json").read_text()  # amd64, arm64
RECORDED_MANIFEST = (RECORDED / "imagetools-raw-v0.29.1-image-manifest.json").read_text()
RECORDED_CONFIG = (RECORDED / "imagetools-image-config-v0.29.1-amd64.json").read_text()
RECORDED_MISSING = (RECORDED / "error-v0.29.1-imagetools-missing.txt").read_text()
ATTESTED_INDEX = (DATA / "imagetools-raw-index-attestations.json").read_text()
BASE = "127.0.0.1:5000/base:1"
OTHER = "127.0.0.1:5000/other:2"
CONFIG_FORMAT = ("--format", "{{json .Image}}")
UNREACHABLE = (
    'ERROR: failed to do request: Head "https://r.example/v2/app/manifests/1": dial tcp: '
    "lookup r.example on 127.0.0.53:53: server misbehaving"
)
UNAUTHORIZED = (
    "ERROR: failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized"
)


def serve(fake: FakeRunner, ref: str, raw: str, config: str | None = None) -> None:
    fake.on("buildx", "imagetools", "inspect", ref, "--raw", stdout=raw)
    if config is not None:
        # Asked of the image just read, by digest: the tag may have moved since.
        fake.on(
            "buildx", "imagetools", "inspect", by_digest(ref, raw), *CONFIG_FORMAT, stdout=config
        )


def by_digest(ref: str, raw: str) -> str:
    return f"{ref.rsplit(':', 1)[0]}@sha256:{hashlib.sha256(raw.encode()).hexdigest()}"


def refused(fake: FakeRunner, dockerfile: str, *platforms: str) -> str:
    with pytest.raises(PreflightFailed) as info:
        preflight(fake, dockerfile_text=dockerfile, platforms=platforms)
    return str(info.value)


def test_a_base_without_a_target_platform_refuses_the_build(fake: FakeRunner) -> None:
    serve(fake, BASE, RECORDED_INDEX)
    message = refused(fake, f"FROM {BASE}\n", "linux/amd64", "linux/ppc64le")
    assert message == (
        f"preflight: {BASE} has no linux/ppc64le (pass --no-preflight to build anyway)"
    )


def test_one_line_names_each_base_and_what_it_lacks(fake: FakeRunner) -> None:
    serve(fake, BASE, index("linux/amd64", "linux/arm/v7", "linux/s390x"))
    serve(fake, OTHER, index("linux/amd64", "linux/ppc64le"))
    dockerfile = f"FROM {OTHER} AS other\nFROM {BASE}\nCOPY --from=other / /\n"
    platforms = ("linux/amd64", "linux/arm/v7", "linux/ppc64le", "linux/s390x")
    assert refused(fake, dockerfile, *platforms) == (
        f"preflight: {OTHER} has no linux/arm/v7, linux/s390x; {BASE} has no linux/ppc64le "
        "(pass --no-preflight to build anyway)"
    )


def test_bases_that_have_every_platform_pass(fake: FakeRunner) -> None:
    serve(fake, BASE, RECORDED_INDEX)
    report = preflight(fake, dockerfile_text=f"FROM {BASE}\n", platforms=[parse("linux/amd64"),
                       parse("linux/arm64")])  # fmt: skip
    assert report.ok
    (verdict,) = report.bases
    assert [str(p) for p in verdict.served] == ["linux/amd64", "linux/arm64"]
    assert verdict.missing == ()


def test_attestation_manifests_are_no_platform(fake: FakeRunner) -> None:
    serve(fake, BASE, ATTESTED_INDEX)
    report = preflight(fake, dockerfile_text=f"FROM {BASE}\n", platforms=["linux/amd64"])
    assert "unknown" not in [p.os for p in report.bases[0].served]
    assert "linux/s390x" in refused(fake, f"FROM {BASE}\n", "linux/s390x")


def test_a_lone_image_is_checked_by_its_config(fake: FakeRunner) -> None:
    serve(fake, BASE, RECORDED_MANIFEST, config=RECORDED_CONFIG)
    report = preflight(fake, dockerfile_text=f"FROM {BASE}\n", platforms=["linux/amd64"])
    assert report.ok
    assert not report.bases[0].served[0].variant
    at = by_digest(BASE, RECORDED_MANIFEST)
    assert len(fake.find("buildx", "imagetools", "inspect", at, *CONFIG_FORMAT)) == 1
    message = refused(fake, f"FROM {BASE}\n", "linux/amd64", "linux/arm64")
    assert message.startswith(f"preflight: {BASE} has no linux/arm64 (")


def test_a_missing_base_is_named(fake: FakeRunner) -> None:
    missing = "127.0.0.1:5000/buildxpy-samples-nope:missing"
    serve(fake, BASE, RECORDED_INDEX)
    fake.on("buildx", "imagetools", "inspect", missing, stderr=RECORDED_MISSING, exit_code=1)
    dockerfile = f"FROM {missing} AS gone\nFROM {BASE}\nCOPY --from=gone / /\n"
    assert refused(fake, dockerfile, "linux/amd64") == (
        f"preflight: {missing} not found (pass --no-preflight to build anyway)"
    )


@pytest.mark.parametrize(
    "stderr",
    [UNREACHABLE, UNAUTHORIZED],
    ids=["unreachable", "unauthorized"],
)
def test_a_registry_that_cannot_be_asked_does_not_stop_the_build(
    fake: FakeRunner, stderr: str
) -> None:
    serve(fake, BASE, RECORDED_INDEX)
    fake.on("buildx", "imagetools", "inspect", "r.example/app:1", stderr=stderr, exit_code=1)
    dockerfile = f"FROM r.example/app:1 AS a\nFROM {BASE}\nCOPY --from=a / /\n"
    with capture_logs() as logs:
        report = preflight(fake, dockerfile_text=dockerfile, platforms=["linux/amd64"])
    assert report.ok
    warning = next(entry for entry in logs if entry["log_level"] == "warning")
    assert warning["base"] == "r.example/app:1"
    assert stderr.removeprefix("ERROR: ") in warning["reason"]
    assert report.bases[0].problem is not None


def test_each_base_is_asked_once_with_the_builder(fake: FakeRunner) -> None:
    serve(fake, BASE, RECORDED_INDEX)
    dockerfile = f"FROM {BASE} AS a\nFROM {BASE}\nCOPY --from=a / /\n"
    preflight(fake, dockerfile_text=dockerfile, platforms=["linux/amd64", "linux/arm64"],
              builder="bxp")  # fmt: skip
    assert [call.args for call in fake.calls] == [
        ["buildx", "imagetools", "inspect", BASE, "--raw", "--builder", "bxp"]
    ]


def test_bases_are_asked_all_at_once(fake: FakeRunner) -> None:
    # Each answer waits for the other two questions: asked one after another, none would come.
    together = threading.Barrier(3, timeout=10)

    def answer(call: Call) -> Completed:
        together.wait()
        return Completed(0, stdout=RECORDED_INDEX)

    fake.on("buildx", "imagetools", "inspect", answer=answer)
    refs = [f"127.0.0.1:5000/base{n}:1" for n in range(3)]
    dockerfile = "".join(f"FROM {ref} AS s{n}\n" for n, ref in enumerate(refs))
    dockerfile += "FROM scratch\n" + "".join(f"COPY --from=s{n} / /\n" for n in range(3))
    report = preflight(fake, dockerfile_text=dockerfile, platforms=["linux/amd64"])
    assert [verdict.ref for verdict in report.bases] == refs


def test_one_info_event_names_the_bases_and_the_time(fake: FakeRunner) -> None:
    serve(fake, BASE, RECORDED_INDEX)
    with capture_logs() as logs:
        preflight(fake, dockerfile_text=f"FROM {BASE}\n", platforms=["linux/amd64"])
    (event,) = [entry for entry in logs if entry["event"] == "preflight"]
    assert event["log_level"] == "info"
    assert event["bases"] == [BASE]
    assert isinstance(event["elapsed_ms"], int)


def test_bases_that_cannot_be_named_are_not_asked_and_say_so(fake: FakeRunner) -> None:
    dockerfile = "FROM $NOWHERE AS a\nFROM Upper/Case:1 AS b\nFROM scratch\nCOPY --from=a / /\n"
    dockerfile += "COPY --from=b / /\n"
    with capture_logs() as logs:
        report = preflight(fake, dockerfile_text=dockerfile, platforms=["linux/amd64"])
    assert fake.calls == []
    assert [item.text for item in report.unchecked] == ["$NOWHERE", "Upper/Case:1"]
    warned = [entry["base"] for entry in logs if entry["log_level"] == "warning"]
    assert warned == ["$NOWHERE", "Upper/Case:1"]


def test_a_build_platform_stage_is_checked_for_the_build_platform(fake: FakeRunner) -> None:
    serve(fake, BASE, RECORDED_INDEX)
    serve(fake, OTHER, index("linux/amd64", "linux/ppc64le"))
    dockerfile = (
        f"FROM --platform=$BUILDPLATFORM {BASE} AS build\nFROM {OTHER}\nCOPY --from=build / /\n"
    )
    report = preflight(fake, dockerfile_text=dockerfile, platforms=["linux/ppc64le"],
                       build_platform="linux/arm64")  # fmt: skip
    assert [(v.ref, [str(p) for p in v.wanted]) for v in report.bases] == [
        (BASE, ["linux/arm64"]),
        (OTHER, ["linux/ppc64le"]),
    ]


def test_no_platforms_means_the_build_platform(fake: FakeRunner) -> None:
    serve(fake, BASE, RECORDED_INDEX)
    report = preflight(fake, dockerfile_text=f"FROM {BASE}\n", platforms=[],
                       build_platform="linux/arm64")  # fmt: skip
    assert [str(p) for p in report.bases[0].wanted] == ["linux/arm64"]


def test_the_refusal_is_one_line_an_expected_error_shows(fake: FakeRunner) -> None:
    serve(fake, BASE, RECORDED_INDEX)
    with pytest.raises(BuildxpyError) as info:
        preflight(fake, dockerfile_text=f"FROM {BASE}\n", platforms=["linux/riscv64"])
    assert "\n" not in str(info.value)
    assert isinstance(info.value, PreflightFailed)
    assert not info.value.report.ok


@pytest.mark.parametrize(
    ("target", "image", "expected"),
    [
        ("linux/amd64", "linux/amd64", True),
        ("linux/amd64", "linux/amd64/v1", True),
        ("linux/amd64", "linux/amd64/v2", False),
        ("linux/amd64/v3", "linux/amd64/v2", True),
        ("linux/amd64/v3", "linux/amd64", True),
        ("linux/amd64/v2", "linux/amd64/v3", False),
        ("linux/amd64", "linux/386", True),
        ("linux/arm64", "linux/arm64", True),
        ("linux/arm64", "linux/arm64/v8", True),
        ("linux/arm64", "linux/aarch64", True),
        ("linux/arm64", "linux/arm/v7", True),
        ("linux/arm64/v9", "linux/arm64", True),
        ("linux/arm64", "linux/arm64/v9", False),
        ("linux/arm/v7", "linux/arm/v7", True),
        ("linux/arm/v7", "linux/arm", True),
        ("linux/arm/v7", "linux/arm/v6", True),
        ("linux/arm/v7", "linux/arm/v5", True),
        ("linux/arm/v6", "linux/arm/v5", True),
        ("linux/arm/v6", "linux/arm/v7", False),
        ("linux/arm/v7", "linux/arm64", False),
        ("linux/386", "linux/amd64", False),
        ("linux/ppc64le", "linux/ppc64le", True),
        ("linux/amd64", "windows/amd64", False),
        ("linux/s390x", "linux/amd64", False),
    ],
)
def test_platforms_match_as_buildkit_picks_an_image(
    target: str, image: str, expected: bool
) -> None:
    os_name, arch, *variant = image.split("/")
    available = [normalized(os_name, arch, variant[0] if variant else "")]
    assert serves(available, parse(target)) is expected


def test_a_base_that_had_every_platform_is_not_asked_again_for_a_while(fake: FakeRunner) -> None:
    serve(fake, "r.example/app:1", RECORDED_INDEX)
    dockerfile = "FROM r.example/app:1\n"
    preflight(fake, dockerfile_text=dockerfile, platforms=["linux/amd64", "linux/arm64"])
    asked = len(fake.calls)
    preflight(fake, dockerfile_text=dockerfile, platforms=["linux/amd64", "linux/arm64"])
    assert asked == 1
    assert len(fake.calls) == asked


def test_a_base_that_fell_short_is_asked_again(fake: FakeRunner) -> None:
    serve(fake, "r.example/app:1", RECORDED_INDEX)
    dockerfile = "FROM r.example/app:1\n"
    for _ in range(2):
        with pytest.raises(PreflightFailed):
            preflight(fake, dockerfile_text=dockerfile, platforms=["linux/amd64", "linux/s390x"])
    assert len(fake.calls) == 2


def test_a_remembered_answer_is_asked_again_for_a_platform_it_did_not_cover(
    fake: FakeRunner,
) -> None:
    serve(fake, "r.example/app:1", RECORDED_INDEX)
    dockerfile = "FROM r.example/app:1\n"
    preflight(fake, dockerfile_text=dockerfile, platforms=["linux/amd64"])
    with pytest.raises(PreflightFailed, match="has no linux/s390x"):
        preflight(fake, dockerfile_text=dockerfile, platforms=["linux/s390x"])
    assert len(fake.calls) == 2
