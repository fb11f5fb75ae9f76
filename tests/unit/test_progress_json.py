"""buildx's rawjson progress, recorded on the bed (buildx 0.13.1): read, timed, shown as plain lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from buildxpy.builds.progress import ProgressCapture, RawJsonRenderer, Shown, StepLog
from buildxpy.docker.runner import Runner
from buildxpy.errors import CommandFailed

DATA = Path(__file__).parent.parent / "data"
TWO = DATA / "buildx-rawjson-two-platforms.txt"
FAILED = DATA / "buildx-rawjson-failed-run.txt"
ARGV = [
    "docker",
    "buildx",
    "build",
    "--platform",
    "linux/amd64,linux/arm64",
    "--progress",
    "rawjson",
    ".",
]


def feed_all(renderer: RawJsonRenderer, text: str) -> str:
    shown = [renderer.feed(line) for line in text.splitlines(keepends=True)]
    shown.append(renderer.close())
    return "".join(s for s in shown if s)


def test_every_step_is_kept_with_its_times() -> None:
    log = StepLog(ARGV)
    feed_all(RawJsonRenderer(log), TWO.read_text())
    names = [s.name for s in log.ordered()]
    assert names[0] == "[internal] load build definition from Dockerfile"
    runs = [s for s in log.ordered() if "] RUN " in s.name]
    assert [s.name.split("]")[0] for s in runs] == [
        "[linux/amd64 build 2/2",
        "[linux/arm64 build 2/2",
    ]
    for step in runs:
        assert not step.cached
        assert len(step.runs) == 1
        assert step.seconds > 0
    froms = [s for s in log.ordered() if "] FROM " in s.name]
    assert froms
    assert all(s.cached for s in froms)
    assert log.platform is None  # two platforms


def test_plain_lines_replace_the_json() -> None:
    shown = feed_all(RawJsonRenderer(StepLog(ARGV)), TWO.read_text())
    assert "{" not in shown
    lines = shown.splitlines()
    run = next(line for line in lines if "[linux/arm64 build 2/2] RUN" in line)
    number = run.split()[0]
    assert any(line.startswith(f"{number} ") and line.endswith(" looped") for line in lines)
    assert any(line.startswith(f"{number} DONE ") and line.endswith("s") for line in lines)
    assert len([line for line in lines if line.startswith(f"{number} DONE")]) == 1
    assert any(line.endswith(" CACHED") for line in lines)


def test_buildx_error_lines_pass_through_and_the_failed_step_says_error() -> None:
    log = StepLog(["docker", "buildx", "build", "--platform", "linux/arm64"])
    shown = feed_all(RawJsonRenderer(log), FAILED.read_text())
    assert log.platform == "linux/arm64"
    assert shown.splitlines()[-1].startswith(
        'ERROR: failed to solve: process "/bin/sh -c echo about'
    )
    failed = [s for s in log.ordered() if s.error]
    assert [s.name for s in failed] == ["[2/2] RUN echo about to fail && exit 3"]
    assert f"#{failed[0].number} ERROR: process" in shown
    assert "about to fail" in shown


@pytest.mark.parametrize(("shown", "json_lines"), [("quiet", False), ("raw", True)])
def test_quiet_and_raw(shown: Shown, json_lines: bool) -> None:
    text = TWO.read_text()
    out = feed_all(RawJsonRenderer(StepLog(ARGV), shown), text)
    assert (out == text) is json_lines
    if not json_lines:
        assert out == ""


def test_a_cut_off_object_is_shown_as_it_came() -> None:
    renderer = RawJsonRenderer(StepLog(ARGV))
    assert renderer.feed("{\n") is None
    assert renderer.feed('  "vertexes": [\n') is None
    assert renderer.close() == '{\n  "vertexes": [\n'


def test_capture_renders_only_rawjson_builds() -> None:
    capture = ProgressCapture()
    assert capture(["docker", "buildx", "build", "--progress", "plain", "."]) is None
    assert capture(["docker", "buildx", "imagetools", "create"]) is None
    assert capture(["docker", "buildx", "build", "--progress=rawjson", "."]) is not None
    assert len(capture.logs) == 1


def test_a_real_child_through_the_runner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The interpreter stands in for docker and writes the recorded stream on stderr: the user
    sees plain lines, the steps are kept, and the error tail holds buildx's own error line."""
    script = tmp_path / "buildx.py"
    script.write_text(f"import sys\nsys.stderr.write(open({str(FAILED)!r}).read())\nsys.exit(1)\n")
    runner = Runner(docker=sys.executable)
    capture = ProgressCapture()
    runner.line_filters = lambda argv: capture(["docker", *argv[2:]])
    with pytest.raises(CommandFailed) as caught:
        runner.stream(
            str(script), "buildx", "build", "--progress", "rawjson", "--platform", "linux/arm64"
        )
    err = capsys.readouterr().err
    assert '"vertexes"' not in err
    assert "RUN echo about to fail && exit 3" in err
    assert caught.value.stderr_tail[-1].startswith("ERROR: failed to solve:")
    [log] = capture.logs
    assert any(step.error for step in log.steps.values())


STARTED = (
    '{"vertexes":[{"digest":"sha256:a","name":"[1/2] RUN x","started":"2026-01-01T00:00:00Z"}]}'
)
DONE = (
    '{"vertexes":[{"digest":"sha256:a","name":"[1/2] RUN x","started":"2026-01-01T00:00:00Z",'
    '"completed":"2026-01-01T00:00:02Z"}]}'
)


def test_compact_objects_several_on_a_line_and_split_across_reads() -> None:
    """Current buildx writes one compact object a line; a pipe may cut one anywhere."""
    log = StepLog(ARGV)
    renderer = RawJsonRenderer(log)
    text = STARTED + " " + DONE + "\n"
    cut = text.index("sha256:a", len(STARTED))  # inside a string of the second object
    first, second = renderer.feed(text[:cut]), renderer.feed(text[cut:])
    assert first == "#1 [1/2] RUN x\n"
    assert second == "#1 DONE 2.0s\n"
    assert log.steps["sha256:a"].seconds == 2.0
    assert renderer.close() is None


def test_text_that_is_not_json_passes_through_whole() -> None:
    renderer = RawJsonRenderer(StepLog(ARGV))
    assert renderer.feed("ERROR: failed to build\n") == "ERROR: failed to build\n"
    assert renderer.feed("{not json}\n") == "{not json}\n"
    assert renderer.feed(STARTED + "\nDockerfile:3\n") == "#1 [1/2] RUN x\nDockerfile:3\n"
