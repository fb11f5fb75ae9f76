from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from buildxpy.docker.runner import Completed
from buildxpy.errors import BuildxpyError, CommandFailed, ConfigError
from buildxpy.exports.tarballs import PlannedExport, platform_ref, tarball_name
from buildxpy.platforms.names import parse, parse_list
from buildxpy.settings import model as config
from tests.fakes import Call, FakeRunner
from tests.specs import build_argv, export, plan

AMD64, ARM64, ARMV7 = parse("linux/amd64"), parse("linux/arm64"), parse("linux/arm/v7")


def make_settings(tmp_path: Path, **values: Any) -> config.Settings:
    values.setdefault("image", "registry.example.com:5000/team/app")
    values.setdefault("output_dir", tmp_path / "dist")
    values.setdefault("platforms", ["linux/amd64"])
    return config.load(values, cwd=tmp_path)


def dest_of(call: Call) -> Path:
    output = call.args[call.args.index("--output") + 1]
    return Path(output.split("dest=", 1)[1].strip('"'))


def platform_of_call(call: Call) -> str:
    return call.args[call.args.index("--platform") + 1]


def writes_tarball(call: Call) -> Completed:
    """What buildx does on success: the tarball appears at dest."""
    dest_of(call).write_bytes(f"tarball for {platform_of_call(call)}".encode())
    return Completed(0)


@pytest.mark.parametrize(
    ("image", "platform", "name"),
    [
        ("app", "linux/amd64", "app-linux-amd64.tar"),
        ("team/app", "linux/arm64/v8", "app-linux-arm64.tar"),
        ("registry.example.com:5000/team/app", "linux/arm/v7", "app-linux-arm-v7.tar"),
        ("127.0.0.1:5000/busybox", "linux/arm/v6", "busybox-linux-arm-v6.tar"),
        ("app", "linux/amd64/v3", "app-linux-amd64-v3.tar"),
    ],
)
def test_tarball_name_uses_last_path_part_and_normalized_platform(
    image: str, platform: str, name: str
) -> None:
    assert tarball_name(image, parse(platform)) == name


@pytest.mark.parametrize(
    ("ref", "platform", "expected"),
    [
        ("app:latest", ARM64, "app:latest-linux-arm64"),
        ("registry.example.com:5000/team/app:1.0", ARMV7, "registry.example.com:5000/team/app:1.0-linux-arm-v7"),
        ("registry.example.com:5000/team/app", AMD64, "registry.example.com:5000/team/app:latest-linux-amd64"),
        ("app", AMD64, "app:latest-linux-amd64"),
    ],
)  # fmt: skip
def test_platform_ref_suffixes_the_tag(ref: str, platform: Any, expected: str) -> None:
    assert platform_ref(ref, platform) == expected


def test_platform_ref_refuses_a_digest_and_an_overlong_tag() -> None:
    with pytest.raises(ConfigError, match="digest reference"):
        platform_ref("app@sha256:" + "0" * 64, AMD64)
    with pytest.raises(ConfigError, match="longer than 128"):
        platform_ref("app:" + "x" * 120, ARMV7)


def test_plan_single_platform_keeps_the_plain_tags(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, image="team/app", tags=["latest", "1.0", "other/name:x"])
    assert plan(settings, [ARM64]) == [
        PlannedExport(
            platform=ARM64,
            path=tmp_path / "dist" / "app-linux-arm64.tar",
            tags=["team/app:latest", "team/app:1.0", "other/name:x"],
        )
    ]


def test_plan_several_platforms_suffix_every_tag(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, image="team/app", tags=["latest", "1.0"])
    planned = plan(settings, parse_list(["linux/arm64/v8,linux/amd64,linux/arm/v7"]))
    assert [(p.path.name, p.tags) for p in planned] == [
        ("app-linux-arm64.tar", ["team/app:latest-linux-arm64", "team/app:1.0-linux-arm64"]),
        ("app-linux-amd64.tar", ["team/app:latest-linux-amd64", "team/app:1.0-linux-amd64"]),
        ("app-linux-arm-v7.tar", ["team/app:latest-linux-arm-v7", "team/app:1.0-linux-arm-v7"]),
    ]


def test_plan_needs_an_image(tmp_path: Path) -> None:
    settings = config.load({"platforms": ["linux/amd64"]}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="no image configured"):
        plan(settings, [AMD64])


ONE = PlannedExport(platform=ARMV7, path=Path("dist/app-linux-arm-v7.tar"), tags=["app:latest"])


@pytest.mark.parametrize(
    ("values", "dest", "progress", "expected"),
    [
        (
            {},
            "dist/.t.tmp",
            None,
            ["buildx", "build", "--builder", "buildxpy", "--platform", "linux/arm/v7",
             "--output", "type=docker,dest=dist/.t.tmp", "-t", "app:latest", "."],
        ),
        (
            {"builder": {"name": "default"}, "context": "src", "dockerfile": "src/Dockerfile.alt",
             "target": "runtime", "build_args": ["BASE=127.0.0.1:5000/busybox", "HTTP_PROXY"],
             "labels": {"org.opencontainers.image.title": "app"},
             "secrets": ["id=token,env=HOME"], "cache_from": ["type=local,src=/c"],
             "cache_to": ["type=local,dest=/c"], "no_cache": True, "pull": True,
             "provenance": "false", "sbom": "true", "network": "host", "progress": "tty"},
            "/out/.t.tmp",
            "plain",
            ["buildx", "build", "--builder", "default", "--platform", "linux/arm/v7",
             "--output", "type=docker,dest=/out/.t.tmp", "-t", "app:latest",
             "-f", "src/Dockerfile.alt", "--target", "runtime",
             "--build-arg", "BASE=127.0.0.1:5000/busybox", "--build-arg", "HTTP_PROXY",
             "--label", "org.opencontainers.image.title=app", "--secret", "id=token,env=HOME",
             "--cache-from", "type=local,src=/c", "--cache-to", "type=local,dest=/c",
             "--no-cache", "--pull", "--provenance=false", "--sbom=true", "--network", "host",
             "--progress", "tty", "src"],
        ),
        (
            {},
            "/a,b/.t.tmp",
            "plain",
            ["buildx", "build", "--builder", "buildxpy", "--platform", "linux/arm/v7",
             "--output", 'type=docker,"dest=/a,b/.t.tmp"', "-t", "app:latest",
             "--progress", "plain", "."],
        ),
    ],
    ids=["minimal", "every-option", "comma-in-path"],
)  # fmt: skip
def test_build_argv(
    tmp_path: Path, values: dict[str, Any], dest: str, progress: str | None, expected: list[str]
) -> None:
    settings = make_settings(tmp_path, **values)
    assert build_argv(settings, ONE, Path(dest), progress=progress) == expected


def test_export_builds_each_platform_into_a_temporary_then_renames(
    tmp_path: Path, fake: FakeRunner
) -> None:
    fake.on("buildx", "build", answer=writes_tarball)
    settings = make_settings(tmp_path, image="app", platforms=["linux/arm64/v8", "linux/amd64"])

    results = export(settings, runner=fake)

    dist = tmp_path / "dist"
    assert sorted(p.name for p in dist.iterdir()) == ["app-linux-amd64.tar", "app-linux-arm64.tar"]
    assert (dist / "app-linux-arm64.tar").read_bytes() == b"tarball for linux/arm64"
    dests = [dest_of(c) for c in fake.find("buildx", "build")]
    assert all(d.parent == dist and d.name.startswith(".app-linux-") for d in dests)
    assert all(d.name.endswith(".tmp") for d in dests)
    assert [r.model_dump(mode="json") for r in results] == [
        {"platform": "linux/arm64", "path": str(dist / "app-linux-arm64.tar"), "bytes": 23,
         "tags": ["app:latest-linux-arm64"], "loaded": False},
        {"platform": "linux/amd64", "path": str(dist / "app-linux-amd64.tar"), "bytes": 23,
         "tags": ["app:latest-linux-amd64"], "loaded": False},
    ]  # fmt: skip
    builds = fake.find("buildx", "build")
    assert all("--progress" in c.args for c in builds)
    # Booted once before the builds start, so they do not race to start a stopped builder.
    assert fake.calls[0].args[:3] == ["buildx", "inspect", "--bootstrap"]
    assert len(builds) == len(fake.calls) - 1


def test_export_platforms_argument_overrides_configuration(
    tmp_path: Path, fake: FakeRunner
) -> None:
    fake.on("buildx", "build", answer=writes_tarball)
    settings = make_settings(tmp_path, image="app", platforms=["linux/arm64", "linux/amd64"])
    results = export(settings, [ARMV7], runner=fake)
    assert [r.tags for r in results] == [["app:latest"]]
    assert [platform_of_call(c) for c in fake.calls] == ["linux/arm/v7"]
    assert "--progress" not in fake.calls[0].args


def test_export_runs_the_platforms_at_the_same_time(tmp_path: Path, fake: FakeRunner) -> None:
    all_started = threading.Barrier(3, timeout=10)

    def build(call: Call) -> Completed:
        all_started.wait()  # breaks (and fails the test) unless three builds run at once
        return writes_tarball(call)

    fake.on("buildx", "build", answer=build)
    settings = make_settings(tmp_path, platforms=["linux/amd64", "linux/arm64", "linux/arm/v7"])
    assert len(export(settings, runner=fake)) == 3


def test_failed_platform_leaves_no_file_and_keeps_the_earlier_tarball(
    tmp_path: Path, fake: FakeRunner
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    earlier = dist / "app-linux-amd64.tar"
    earlier.write_bytes(b"earlier export")
    os.utime(earlier, (1_000_000, 1_000_000))

    def build(call: Call) -> Completed:
        if platform_of_call(call) == "linux/arm64":
            dest_of(call).write_bytes(b"half")
            return Completed(1, stderr_tail=['ERROR: process "/bin/sh -c false" did not complete'])
        return writes_tarball(call)

    fake.on("buildx", "build", answer=build)
    settings = make_settings(tmp_path, image="app", platforms=["linux/amd64", "linux/arm64"])

    with pytest.raises(CommandFailed) as info:
        export(settings, runner=fake)

    assert str(info.value) == "export for linux/arm64 failed: `docker buildx build` exited with 1"
    assert info.value.details == ['ERROR: process "/bin/sh -c false" did not complete']
    assert list(dist.iterdir()) == [earlier]
    assert earlier.read_bytes() == b"earlier export"
    assert earlier.stat().st_mtime == 1_000_000


def test_missing_builder_is_named(tmp_path: Path, fake: FakeRunner) -> None:
    fake.on("buildx", "build", exit_code=1, stderr='ERROR: no builder "nope" found\n')
    settings = make_settings(tmp_path, builder={"name": "nope"})
    with pytest.raises(BuildxpyError, match="builder 'nope' does not exist; create it with"):
        export(settings, runner=fake)
    assert not list((tmp_path / "dist").iterdir())


def test_interrupt_stops_waiting_and_removes_temporaries(tmp_path: Path, fake: FakeRunner) -> None:
    def build(call: Call) -> Completed:
        dest_of(call).write_bytes(b"partial")
        if platform_of_call(call) == "linux/amd64":
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C reaches the main thread
        time.sleep(0.5)  # the child dies of the interrupt a moment later
        return Completed(130)

    fake.on("buildx", "build", answer=build)
    settings = make_settings(tmp_path, platforms=["linux/amd64", "linux/arm64"])

    with pytest.raises(KeyboardInterrupt):
        export(settings, runner=fake)

    assert list((tmp_path / "dist").iterdir()) == []


def test_empty_output_is_an_error_not_a_tarball(tmp_path: Path, fake: FakeRunner) -> None:
    settings = make_settings(tmp_path, image="app")
    with pytest.raises(BuildxpyError, match=r"wrote nothing for .*app-linux-amd64\.tar"):
        export(settings, runner=fake)
    assert list((tmp_path / "dist").iterdir()) == []


def test_dry_run_prints_the_commands_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not a git checkout: the OCI labels are the project's alone
    fake = FakeRunner(dry_run=True)
    settings = make_settings(tmp_path, image="app", platforms=["linux/amd64", "linux/arm64"])
    results = export(settings, runner=fake, load=True)
    dist = tmp_path / "dist"
    build = "docker buildx build --builder buildxpy --platform"
    amd64 = f"linux/amd64 --output type=docker,dest={dist}/app-linux-amd64.tar"
    arm64 = f"linux/arm64 --output type=docker,dest={dist}/app-linux-arm64.tar"
    labels = (
        "--label org.opencontainers.image.title=app --label org.opencontainers.image.version=latest"
    )
    assert capsys.readouterr().out.splitlines() == [
        f"{build} {amd64} -t app:latest-linux-amd64 {labels} .",
        f"{build} {arm64} -t app:latest-linux-arm64 {labels} .",
        f"docker load -i {dist}/app-linux-amd64.tar",
        f"docker load -i {dist}/app-linux-arm64.tar",
    ]
    assert fake.calls == []
    assert not dist.exists()
    assert [r.bytes for r in results] == [0, 0]


def test_unwritable_output_dir_is_one_clear_error(tmp_path: Path, fake: FakeRunner) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings = make_settings(tmp_path, output_dir=blocker / "dist")
    with pytest.raises(BuildxpyError, match=r"^cannot write to .*/file/dist: "):
        export(settings, runner=fake)
    assert fake.calls == []


def test_shared_cache_destination_for_several_platforms_is_warned_about(tmp_path: Path) -> None:
    from structlog.testing import capture_logs

    settings = make_settings(
        tmp_path, platforms=["linux/amd64", "linux/arm64"], cache_to=["type=local,dest=/c"]
    )
    with capture_logs() as logs:
        plan(settings, settings.platforms)
        plan(settings, settings.platforms[:1])
    assert [(e["log_level"], e["cache_to"]) for e in logs] == [("warning", ["type=local,dest=/c"])]


def test_a_missing_context_is_refused_before_docker(tmp_path: Path, fake: FakeRunner) -> None:
    settings = config.load(
        {"image": "app", "context": str(tmp_path / "nope"), "output_dir": str(tmp_path)}
    )
    with pytest.raises(ConfigError, match="is not a directory"):
        export(settings, [parse("linux/arm64")], fake)
    assert fake.calls == []
