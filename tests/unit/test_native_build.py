"""`build --plan/--require-native/--report/--by-digest/--split` through the CLI, docker faked at
the subprocess seam."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from buildxpy.docker.runner import Completed, current_line_filter
from tests.fake_registry import IMAGE, Registry, digest_of, index, writes
from tests.fakes import Call, FakeRunner

DATA = Path(__file__).parent.parent / "data"
ARM64_INFO = (DATA / "docker-info-arm64.json").read_text()
AMD64_INFO = json.dumps({**json.loads(ARM64_INFO), "Architecture": "x86_64"})
THREE = "linux/amd64,linux/arm64,linux/arm/v7"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    # Verification after pushing has tests of its own (test_verify.py).
    monkeypatch.setenv("BUILDXPY_VERIFY", "false")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


@pytest.fixture
def engine(cli_fake: FakeRunner) -> FakeRunner:
    """The bed's engine: amd64, its `default` builder on the docker driver."""
    cli_fake.on("--context", "default", "info", stdout=AMD64_INFO)
    return cli_fake


def two_node_builder(config_dir: Path, fake: FakeRunner) -> None:
    """A docker-container builder `multi`: node x86 (amd64 daemon) for amd64, node pi (arm64
    daemon) for arm64 and arm/v7."""
    instances = config_dir / "buildx" / "instances"
    instances.mkdir(parents=True)
    (instances / "multi").write_text(
        json.dumps({
            "Name": "multi", "Driver": "docker-container",
            "Nodes": [
                {"Name": "x86", "Endpoint": "x86", "Platforms": [{"os": "linux", "architecture": "amd64"}]},
                {"Name": "pi", "Endpoint": "pi", "Platforms": [
                    {"os": "linux", "architecture": "arm64"},
                    {"os": "linux", "architecture": "arm", "variant": "v7"}]},
            ],
        })
    )  # fmt: skip
    fake.on("--context", "x86", "info", stdout=AMD64_INFO)
    fake.on("--context", "pi", "info", stdout=ARM64_INFO)


def pushes(fails: frozenset[str] = frozenset()) -> Callable[[Call], Completed]:
    """Acts like a one-platform `buildx build` that pushes: its digest in the metadata file."""

    def answer(call: Call) -> Completed:
        platform = call.args[call.args.index("--platform") + 1]
        if platform in fails:
            return Completed(1, stderr="ERROR: failed to solve: exit code: 1\n")
        path = Path(call.args[call.args.index("--metadata-file") + 1])
        path.write_text(json.dumps({"containerimage.digest": digest_of(index(platform))}))
        return Completed(0)

    return answer


def happening_now(recorded: Path) -> tuple[str, float]:
    """The recorded stream with its times moved so that the build starts now, and how long it
    lasts: the report keeps only what happened while the build ran."""
    text = recorded.read_text()
    stamps = [
        datetime.fromisoformat(s)
        for s in re.findall(r'"(?:started|completed|timestamp)": "([^"]+)"', text)
    ]
    shift = datetime.now(UTC) - min(stamps)

    def moved(match: re.Match[str]) -> str:
        when = datetime.fromisoformat(match.group(2)) + shift
        return f'"{match.group(1)}": "{when.isoformat()}"'

    lasts = (max(stamps) - min(stamps)).total_seconds()
    return re.sub(r'"(started|completed|timestamp)": "([^"]+)"', moved, text), lasts


def builds(fake: FakeRunner) -> list[Call]:
    return fake.find("buildx", "build")


def test_plan_on_the_default_builder_reports_arm64_emulated(
    project: Path, engine: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(
            ["build", "--plan", "--builder", "default", "--platform", "linux/amd64,linux/arm64"]
        )
        == 0
    )
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[1] == ["linux/amd64", "default", "default", "linux/amd64", "native", "only", "node"]
    assert rows[2] == [
        "linux/arm64",
        "default",
        "default",
        "linux/amd64",
        "emulated",
        "only",
        "node",
    ]
    assert builds(engine) == []


def test_plan_json_names_each_node(
    project: Path,
    cli_fake: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    docker_config_dir: Path,
) -> None:
    two_node_builder(docker_config_dir, cli_fake)
    assert cli.main(["build", "--plan", "--json", "--builder", "multi", "--platform", THREE]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [(r["platform"], r["node"], r["native"]) for r in plan["routes"]] == [
        ("linux/amd64", "x86", True), ("linux/arm64", "pi", True), ("linux/arm/v7", "pi", False),
    ]  # fmt: skip
    assert [n["native"] for n in plan["nodes"]] == ["linux/amd64", "linux/arm64"]


def test_require_native_refuses_before_any_build(
    project: Path, engine: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["build", "--require-native", "--builder", "default", "--image", IMAGE,
         "--platform", "linux/amd64,linux/arm64"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert (
        "buildxpy: error: native builds required, but linux/arm64 would be emulated on node 'default'"
        in err
    )
    assert builds(engine) == []


def test_require_native_from_the_environment(
    project: Path, engine: FakeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDXPY_REQUIRE_NATIVE", "true")
    assert (
        cli.main(["build", "--builder", "default", "--image", IMAGE, "--platform", "linux/arm64"])
        == 1
    )
    assert cli.main(["build", "--no-require-native", "--builder", "default", "--image", IMAGE,
                     "--platform", "linux/amd64", "--no-push"]) == 0  # fmt: skip
    assert len(builds(engine)) == 1


def test_one_log_line_per_build_says_where_each_platform_goes(
    project: Path, engine: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    engine.on("buildx", "build", answer=pushes())
    cli.main(
        [
            "--log-format",
            "json",
            "build",
            "--builder",
            "default",
            "--image",
            IMAGE,
            "--platform",
            "linux/arm64",
        ]
    )
    events = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    [routing] = [e for e in events if e["event"] == "routing"]
    assert routing["platforms"] == {"linux/arm64": "default (emulated)"}


def test_by_digest_pushes_untagged_and_writes_the_record(
    project: Path,
    cli_fake: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    docker_config_dir: Path,
) -> None:
    two_node_builder(docker_config_dir, cli_fake)
    cli_fake.on("buildx", "build", answer=pushes())
    code = cli.main(
        [
            "build",
            "--by-digest",
            "--builder",
            "multi",
            "--image",
            IMAGE,
            "--platform",
            "linux/arm64",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == digest_of(index("linux/arm64")) + "\n"
    [call] = builds(cli_fake)
    args = call.args
    assert args[args.index("--output") + 1] == (
        f"type=image,name={IMAGE},push-by-digest=true,name-canonical=true,push=true"
    )
    assert "-t" not in args
    assert "--push" not in args
    record = json.loads((project / "dist" / "digests" / "linux-arm64.json").read_text())
    assert record == {
        "image": IMAGE, "platform": "linux/arm64", "digest": digest_of(index("linux/arm64")),
        "node": "pi", "native": True,
    }  # fmt: skip
    assert sorted(p.name for p in (project / "dist" / "digests").iterdir()) == ["linux-arm64.json"]


def test_by_digest_carries_the_labels_annotations_and_cache_of_a_plain_build(
    project: Path, cli_fake: FakeRunner, docker_config_dir: Path
) -> None:
    two_node_builder(docker_config_dir, cli_fake)
    cli_fake.on("buildx", "build", answer=pushes())
    assert cli.main(["build", "--by-digest", "--builder", "multi", "--image", IMAGE,
                     "--platform", "linux/arm64", "--oci-metadata", "--cache", "registry",
                     "--annotation", "org.example.note=kept"]) == 0  # fmt: skip
    [call] = builds(cli_fake)
    args = call.args
    labels = [args[i + 1] for i, a in enumerate(args) if a == "--label"]
    assert any(label.startswith("org.opencontainers.image.title=") for label in labels), args
    assert f"type=registry,ref={IMAGE}:buildcache-linux-arm64" in args
    assert "org.example.note=kept" in args


def test_by_digest_on_the_docker_driver_pushes_under_the_platform_tag(
    project: Path, engine: FakeRunner
) -> None:
    engine.on("buildx", "build", answer=pushes())
    assert cli.main(["build", "--by-digest", "--builder", "default", "--image", IMAGE, "-t", "1.0",
                     "--platform", "linux/arm/v7"]) == 0  # fmt: skip
    args = builds(engine)[0].args
    assert args[args.index("--output") + 1] == f"type=image,name={IMAGE}:1.0-linux-arm-v7,push=true"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--platform", "linux/amd64,linux/arm64"], "--by-digest builds one platform"),
        (["--platform", "linux/arm64", "--no-push"], "pushing is off"),
        (["--platform", "linux/arm64", "--load"], "--load cannot be combined"),
    ],
)
def test_by_digest_refuses_what_it_cannot_do(
    project: Path,
    engine: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    assert cli.main(["build", "--by-digest", "--builder", "default", "--image", IMAGE, *extra]) == 1
    assert message in capsys.readouterr().err
    assert engine.calls == []


def test_split_merges_and_a_rerun_after_a_failure_builds_only_the_missing_platform(
    project: Path, engine: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = Registry(engine, "linux/amd64", "linux/arm64", "linux/arm/v7")
    engine.on("buildx", "build", answer=pushes(frozenset({"linux/arm/v7"})))
    argv = [
        "build",
        "--split",
        "--builder",
        "default",
        "--image",
        IMAGE,
        "-t",
        "1.0",
        "--platform",
        THREE,
    ]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert (
        "buildxpy: error: split build failed for linux/arm/v7; records kept for linux/amd64, linux/arm64"
        in err
    )
    assert len(builds(engine)) == 3
    assert writes(engine) == []
    digests = project / "dist" / "digests"
    assert sorted(p.name for p in digests.iterdir()) == [
        ".split-pending.json", "linux-amd64.json", "linux-arm64.json",
    ]  # fmt: skip
    assert (digests / ".split-pending.json").is_file()

    engine.calls.clear()
    engine.on("buildx", "build", answer=pushes())
    assert cli.main([*argv, "--json"]) == 0
    [rebuilt] = builds(engine)
    assert rebuilt.args[rebuilt.args.index("--platform") + 1] == "linux/arm/v7"
    result = json.loads(capsys.readouterr().out)
    assert result["built"] == ["linux/arm/v7"]
    assert result["digest"] == digest_of(index("linux/amd64", "linux/arm64", "linux/arm/v7"))
    assert registry.tags[f"{IMAGE}:1.0"] == index("linux/amd64", "linux/arm64", "linux/arm/v7")
    assert [r["platform"] for r in result["records"]] == THREE.split(",")
    assert not (digests / ".split-pending.json").exists()

    # A finished split is not resumed: the next one builds every platform again.
    engine.calls.clear()
    assert cli.main(argv) == 0
    assert len(builds(engine)) == 3


def test_split_does_not_reuse_records_built_from_other_options(
    project: Path, engine: FakeRunner
) -> None:
    Registry(engine, "linux/amd64", "linux/arm64")
    engine.on("buildx", "build", answer=pushes(frozenset({"linux/arm64"})))
    argv = [
        "build",
        "--split",
        "--builder",
        "default",
        "--image",
        IMAGE,
        "--platform",
        "linux/amd64,linux/arm64",
    ]
    assert cli.main(argv) == 1
    engine.calls.clear()
    engine.on("buildx", "build", answer=pushes())
    assert cli.main([*argv, "--build-arg", "CHANGED=1"]) == 0
    assert len(builds(engine)) == 2


def test_split_dry_run_prints_each_build_and_the_merge(
    project: Path, engine: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--dry-run", "build", "--split", "--builder", "default", "--image", IMAGE,
                     "--platform", "linux/amd64,linux/arm64",
                     "--annotation", "index:org.example.note=x"]) == 0  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in out] == [["docker", "buildx", "build"]] * 2 + [
        ["docker", "buildx", "imagetools"]
    ]
    assert out[2].endswith(f"{IMAGE}@<digest of linux/amd64>' '{IMAGE}@<digest of linux/arm64>'")
    # The merge it shows is the one it would run: through the builder, with the index's
    # annotations.
    assert out[2].startswith("docker buildx imagetools create --builder default ")
    assert "--annotation index:org.example.note=x" in out[2]
    assert not (project / "dist").exists()
    # Read-only: whether the builder can export the default cache, and where each platform runs.
    assert [c.args[2] for c in engine.calls] == ["info", "info"]


def test_report_in_the_json_output_from_the_rawjson_stream(
    project: Path, engine: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    """stderr is no terminal here, so buildxpy shows the progress itself and reports."""

    def buildx(call: Call) -> Completed:
        assert call.args[call.args.index("--progress") + 1] == "rawjson"
        line_filter = current_line_filter()
        assert line_filter is not None
        stream, lasts = happening_now(DATA / "buildx-rawjson-two-platforms.txt")
        for line in stream.splitlines(keepends=True):
            line_filter.feed(line)
        time.sleep(lasts)  # as long as the recorded build took
        shutil.copy(
            DATA / "metadata-multi-push.json", call.args[call.args.index("--metadata-file") + 1]
        )
        return Completed(0)

    engine.on("buildx", "build", answer=buildx)
    assert (
        cli.main(
            [
                "build",
                "--builder",
                "default",
                "--image",
                IMAGE,
                "--platform",
                "linux/amd64,linux/arm64",
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)["report"]
    amd, arm = report["platforms"]
    assert (amd["native"], arm["native"]) == (True, False)
    assert arm["wall_s"] > amd["wall_s"]
    assert arm["slowest_emulated_runs"][0]["stage"] == "build"
    assert report["wall_s"] is not None


def test_no_report_leaves_the_progress_as_buildx_shows_it(
    project: Path, engine: FakeRunner
) -> None:
    engine.on("buildx", "build", answer=pushes())
    assert (
        cli.main(
            [
                "build",
                "--no-report",
                "--builder",
                "default",
                "--image",
                IMAGE,
                "--platform",
                "linux/arm64",
            ]
        )
        == 0
    )
    assert "--progress" not in builds(engine)[0].args


@pytest.mark.parametrize("mode", ["plain", "quiet", "tty"])
def test_a_progress_mode_the_user_names_reaches_buildx_as_given(
    project: Path, engine: FakeRunner, mode: str
) -> None:
    engine.on("buildx", "build", answer=pushes())
    argv = ["build", "--progress", mode, "--builder", "default", "--image", IMAGE,
            "--platform", "linux/arm64"]  # fmt: skip
    assert cli.main(argv) == 0
    args = builds(engine)[0].args
    assert args[args.index("--progress") + 1] == mode


def test_report_asked_with_a_progress_mode_renders_it_from_rawjson(
    project: Path, engine: FakeRunner
) -> None:
    engine.on("buildx", "build", answer=pushes())
    argv = ["build", "--progress", "plain", "--report", "--builder", "default", "--image", IMAGE,
            "--platform", "linux/arm64"]  # fmt: skip
    assert cli.main(argv) == 0
    args = builds(engine)[0].args
    assert args[args.index("--progress") + 1] == "rawjson"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--split", "--by-digest"], "--split already builds each platform by digest"),
        (["--require", "all"], "--require applies to the merge of --split"),
    ],
)
def test_flags_that_do_not_go_together(
    project: Path,
    engine: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    assert cli.main(["build", "--builder", "default", "--image", IMAGE, *flags]) == 1
    assert f"buildxpy: error: {message}" in capsys.readouterr().err
    assert engine.calls == []


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_buildx_keeps_its_own_display_unless_report(
    project: Path, engine: FakeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.on("buildx", "build", answer=pushes())
    monkeypatch.setattr(sys, "stderr", Terminal())
    base = [
        "build",
        "--builder",
        "default",
        "--image",
        IMAGE,
        "--platform",
        "linux/arm64",
        "--json",
    ]
    assert cli.main(base) == 0
    assert "--progress" not in builds(engine)[-1].args
    assert cli.main([*base, "--report"]) == 0
    args = builds(engine)[-1].args
    assert args[args.index("--progress") + 1] == "rawjson"


def test_a_kept_record_whose_image_is_gone_is_built_again(
    project: Path, engine: FakeRunner
) -> None:
    registry = Registry(engine, "linux/amd64", "linux/arm64")
    engine.on("buildx", "build", answer=pushes(frozenset({"linux/arm64"})))
    argv = [
        "build",
        "--split",
        "--builder",
        "default",
        "--image",
        IMAGE,
        "--platform",
        "linux/amd64,linux/arm64",
    ]
    assert cli.main(argv) == 1
    del registry.blobs[f"{IMAGE}@{digest_of(index('linux/amd64'))}"]
    engine.calls.clear()
    engine.on("buildx", "build", answer=pushes())

    def pushed_again(call: Call) -> Completed:
        registry.blobs[f"{IMAGE}@{digest_of(index('linux/amd64'))}"] = index("linux/amd64")
        return pushes()(call)

    engine.on(
        "buildx", "build", "--builder", "default", "--platform", "linux/amd64", answer=pushed_again
    )
    assert cli.main(argv) == 0
    assert sorted(c.args[c.args.index("--platform") + 1] for c in builds(engine)) == [
        "linux/amd64", "linux/arm64",
    ]  # fmt: skip


def test_python_api_split_and_routing_plan(project: Path, fake: FakeRunner) -> None:
    import buildxpy

    fake.on("--context", "default", "info", stdout=AMD64_INFO)
    Registry(fake, "linux/amd64", "linux/arm64")
    fake.on("buildx", "build", answer=pushes())
    result = buildxpy.build(
        project, image=IMAGE, tags=["1.0"], platforms=["linux/amd64", "linux/arm64"],
        builder="default", push=True, split=True, verify=False, runner=fake,
    )  # fmt: skip
    assert isinstance(result, buildxpy.NativeBuildResult)
    assert result.merge is not None
    assert result.digest == digest_of(index("linux/amd64", "linux/arm64"))
    assert [r.platform for r in result.records] == ["linux/amd64", "linux/arm64"]
    plan = buildxpy.routing_plan(["linux/arm64"], builder="default", runner=fake)
    assert [(r.node, r.native) for r in plan.routes] == [("default", False)]
    with pytest.raises(buildxpy.NotNative):
        buildxpy.build(project, image=IMAGE, platforms=["linux/arm64"], builder="default",
                       require_native=True, runner=fake)  # fmt: skip


def test_a_plain_build_plans_while_docker_builds(
    project: Path,
    cli_fake: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    docker_config_dir: Path,
) -> None:
    """Nothing before the build needs the plan: the nodes are asked for their platforms once the
    build has started, and the plan is still logged and reported."""
    two_node_builder(docker_config_dir, cli_fake)
    cli_fake.on("buildx", "build", answer=pushes())
    code = cli.main(["--log-format", "json", "build", "--json", "--builder", "multi", "--image",
                     IMAGE, "--platform", "linux/amd64,linux/arm64"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    asked = [" ".join(c.args[:4]) for c in cli_fake.calls]
    assert asked.index("buildx build --builder multi") < asked.index("--context x86 info --format")
    assert [r["native"] for r in json.loads(out)["plan"]["routes"]] == [True, True]
    events = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert [e["event"] for e in events].count("routing") == 1


def test_require_native_plans_before_building(
    project: Path, cli_fake: FakeRunner, docker_config_dir: Path
) -> None:
    two_node_builder(docker_config_dir, cli_fake)
    cli_fake.on("buildx", "build", answer=pushes())
    code = cli.main(["build", "--require-native", "--builder", "multi", "--image", IMAGE,
                     "--platform", "linux/amd64,linux/arm64"])  # fmt: skip
    assert code == 0
    asked = [" ".join(c.args[:4]) for c in cli_fake.calls]
    assert asked.index("--context x86 info --format") < asked.index("buildx build --builder multi")


def test_a_plan_that_fails_during_the_build_leaves_the_build_done(
    project: Path, cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    """The build succeeded: a plan that could not be made only costs the report, with a warning."""
    cli_fake.on("--context", "gone", "info", exit_code=1,
                stderr='context "gone": context not found: …')  # fmt: skip
    cli_fake.on("buildx", "build", answer=pushes())
    code = cli.main(["--log-format", "json", "build", "--json", "--builder", "gone", "--image",
                     IMAGE, "--platform", "linux/arm64"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["plan"] is None
    assert "no routing plan and no emulation report" in err


def test_a_plain_result_loads_the_split_and_verify_models_only_when_serialized() -> None:
    """A plain build's result never loads the digest records', merge's or verification's models,
    and still serializes every field once --json asks."""
    import subprocess
    import sys

    script = """
import json, sys
from buildxpy.builds.results import NativeBuildResult
late = ("buildxpy.split.records", "buildxpy.split.options", "buildxpy.verification.report")
result = NativeBuildResult.model_construct(
    digest="sha256:" + "a" * 64, tags=["r/app:1"], platforms=["linux/amd64"], pushed=False,
    builder="b", metadata_file=None,
)
before = [m for m in late if m in sys.modules]
dumped = result.model_dump(mode="json")
print(json.dumps([before, dumped["records"], dumped["merge"], dumped["verification"]]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == [[], [], None, None]


def test_the_build_time_stops_with_the_build_not_after_its_verification(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``wall_s`` is the build's: the check of what it pushed runs after the clock stopped."""
    import types

    import buildxpy
    from buildxpy.builds import reporting
    from buildxpy.manifests import lists

    now = [0.0]
    monkeypatch.setattr(reporting, "time", types.SimpleNamespace(monotonic=lambda: now[0]))

    def buildx(call: Call) -> Completed:
        now[0] += 2.0
        shutil.copy(
            DATA / "metadata-multi-push.json", call.args[call.args.index("--metadata-file") + 1]
        )
        return Completed(0)

    def check_pushed(*args: object) -> None:
        now[0] += 100.0

    monkeypatch.setattr(lists, "check_pushed", check_pushed)
    fake = FakeRunner().on("--context", "default", "info", stdout=AMD64_INFO)
    fake.on("buildx", "build", answer=buildx)
    result = buildxpy.build(
        project, image=IMAGE, builder="default", platforms=["linux/amd64", "linux/arm64"],
        push=True, verify=True, report=True, cache="off", oci_metadata=False, preflight=False,
        runner=fake,
    )  # fmt: skip
    assert now[0] == 102.0  # verified
    assert result.report is not None
    assert result.report.wall_s == 2.0
