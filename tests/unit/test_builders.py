from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from buildxpy.builders import boot as builder_boot
from buildxpy.builders import facts as builder_facts
from buildxpy.builders import manage as builders
from buildxpy.builders import natives as builder_natives
from buildxpy.builders import state as builder_state
from buildxpy.builders.manage import Builder
from buildxpy.builders.plan import StoredNode
from buildxpy.cli import main as cli
from buildxpy.docker.models import DockerInfo, LsBuilder, load_json, parse_context_ls
from buildxpy.errors import BuilderNotFound, BuildxpyError
from buildxpy.platforms import emulation
from buildxpy.platforms.names import parse
from buildxpy.settings import model as settings_mod
from tests.fakes import FakeRunner, joined

DATA = Path(__file__).parent.parent / "data"
SOCK1 = "unix:///var/run/docker.sock"
SOCK2 = "unix:///run/buildxpy-bed/node2/docker.sock"
# The configuration the recorded `tb` builder was made from.
TB_NODES = [
    {"name": "tn1", "endpoint": SOCK1, "platforms": ["linux/amd64"]},
    {"name": "tn2", "endpoint": SOCK2, "platforms": ["linux/arm64", "linux/arm/v7"],
     "driver_opts": {"network": "host"}},
]  # fmt: skip
PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
INFO = (DATA / "buildx-node-info.json").read_text()


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "docker-config"
    path.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    return path


def settings_for(tmp_path: Path, **builder: Any) -> settings_mod.Settings:
    return settings_mod.load({"platforms": PLATFORMS, "builder": builder}, cwd=tmp_path)


def setup(configured: settings_mod.Settings, runner: FakeRunner, **options: Any) -> Builder:
    return builders.ensure_builder(
        configured.builder.description(), configured.builder_platforms, runner, **options
    )


def recorded_tb(config_dir: Path, fake: FakeRunner, *, owned: bool = True) -> None:
    """The `tb` builder as buildx recorded it, and what buildxpy remembered when it made it."""
    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-context-nodes.jsonl").read_text())
    instances = config_dir / "buildx" / "instances"
    instances.mkdir(parents=True)
    shutil.copy(DATA / "buildx-instance-context-nodes.json", instances / "tb")
    state = builder_state.BuilderState(
        contexts={"tn1": SOCK1, "tn2": SOCK2} if owned else {},
        natives={SOCK1: "linux/amd64", SOCK2: "linux/amd64"},
    )
    builder_state.save_state(config_dir, "tb", state)


def ls_sample(text: str) -> dict[str, LsBuilder]:
    return builder_facts.ls_entries(FakeRunner().on("buildx", "ls", stdout=text))


def mutating(fake: FakeRunner) -> list[str]:
    reads = (("buildx", "ls"), ("context", "ls"), ("buildx", "inspect", "tb"))
    return [
        " ".join(c.args) for c in fake.calls
        if not any(tuple(c.args[: len(r)]) == r for r in reads) and "info" not in c.args
        and "logs" not in c.args
    ]  # fmt: skip


# ------------------------------------------------------------- recorded samples


def test_ls_sample_is_deduplicated_by_name() -> None:
    entries = ls_sample((DATA / "buildx-ls-two-nodes.jsonl").read_text())
    assert list(entries) == ["smp", "default", "smpn2"]
    smp = builder_facts.to_builder(entries["smp"])
    assert [(n.name, n.endpoint, n.status, n.platforms) for n in smp.nodes] == [
        ("smp0", SOCK1, "inactive", ["linux/amd64", "linux/arm64"]),
        ("smpn2", "smpn2", "inactive", ["linux/arm/v7"]),
    ]
    assert smp.nodes[1].driver_opts == {"image": "foo:1"}
    default = builder_facts.to_builder(entries["default"])
    assert default.driver == "docker"
    assert default.nodes[0].buildkit == "v0.0.0+unknown"
    assert default.status == "running"


def test_ls_with_an_unreachable_daemon_is_an_error_not_a_crash() -> None:
    line = (
        '{"Name":"default","Driver":"","LastActivity":"0001-01-01T00:00:00Z","Dynamic":false,'
        '"Nodes":[{"Name":"","Endpoint":""}],"Err":"Cannot connect to the Docker daemon"}'
    )
    builder = builder_facts.to_builder(ls_sample(line)["default"])
    assert builder.status == "error"
    assert builder.nodes == []


def test_context_ls_sample() -> None:
    got = parse_context_ls((DATA / "buildx-context-ls.jsonl").read_text())
    assert {c.name: c.docker_endpoint for c in got} == {
        "default": SOCK1,
        "smpn2": "unix:///run/buildxpy-bed/node2/docker.sock",
    }


def test_current_builder_sample(config_dir: Path) -> None:
    (config_dir / "buildx").mkdir()
    shutil.copy(DATA / "buildx-current.json", config_dir / "buildx" / "current")
    assert builder_facts.current_builder(config_dir) == "default"
    (config_dir / "buildx" / "current").write_text('{"Key":"x","Name":"tb","Global":false}')
    assert builder_facts.current_builder(config_dir) == "tb"


def test_node_info_sample_gives_the_native_platform() -> None:
    info = load_json(DockerInfo, INFO, what="docker info")
    assert builder_natives.platform_from_info(info) == parse("linux/amd64")


@pytest.mark.parametrize(
    ("machine", "expected"),
    [("aarch64", "linux/arm64"), ("armv7l", "linux/arm/v7"), ("x86_64", "linux/amd64"),
     ("s390x", "linux/s390x"), ("i686", "linux/386"), ("sparc64", "linux/sparc64")],
)  # fmt: skip
def test_machine_names(machine: str, expected: str) -> None:
    got = builder_natives.platform_from_info(DockerInfo(OSType="linux", Architecture=machine))
    assert str(got) == expected


def test_instance_file_wins_over_ls_for_configured_platforms(config_dir: Path) -> None:
    entries = ls_sample((DATA / "buildx-ls-context-nodes.jsonl").read_text())
    running = entries["tb"].model_copy(deep=True)
    running.nodes[0].status = "running"
    running.nodes[0].platforms = ["linux/amd64", "linux/amd64/v2", "linux/386"]
    without_store = builder_facts.actual_builder(config_dir, running)
    assert without_store is not None
    assert without_store.nodes[0].platforms == ("linux/amd64", "linux/amd64/v2", "linux/386")
    (config_dir / "buildx" / "instances").mkdir(parents=True)
    shutil.copy(DATA / "buildx-instance-context-nodes.json", config_dir / "buildx/instances/tb")
    with_store = builder_facts.actual_builder(config_dir, running)
    assert with_store is not None
    assert with_store.nodes[0] == StoredNode(
        "tn1", "tn1", ("linux/amd64",), (), ("--allow-insecure-entitlement=network.host",)
    )


# ------------------------------------------------------------- setup


def test_setup_with_nothing_changed_runs_one_read_only_query(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    recorded_tb(config_dir, fake)
    builder = setup(settings_for(tmp_path, name="tb", nodes=TB_NODES), fake, bootstrap=False)
    assert fake.args_list() == [["buildx", "ls", "--format", "json"]]
    assert builder.commands == []
    assert [n.name for n in builder.nodes] == ["tn1", "tn2"]
    assert builder.emulated == ["linux/arm64", "linux/arm/v7"]


def test_setup_without_state_asks_for_contexts_and_the_daemons(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    recorded_tb(config_dir, fake)
    builder_state.state_path(config_dir, "tb").unlink()
    fake.on("context", "ls", stdout=f'{{"Name":"tn1","DockerEndpoint":"{SOCK1}"}}\n'
                                    f'{{"Name":"tn2","DockerEndpoint":"{SOCK2}"}}\n')  # fmt: skip
    fake.on("--host", stdout=INFO)
    setup(settings_for(tmp_path, name="tb", nodes=TB_NODES), fake, bootstrap=False)
    assert mutating(fake) == []
    assert joined(fake.find("--host")) == [
        f"--host {SOCK1} info --format {{{{json .}}}}",
        f"--host {SOCK2} info --format {{{{json .}}}}",
    ]
    state = builder_state.load_state(config_dir, "tb")
    assert state.natives == {SOCK1: "linux/amd64", SOCK2: "linux/amd64"}
    # Contexts it found are not its own: it must never remove them.
    assert state.contexts == {}


def test_setup_creates_contexts_and_nodes_and_remembers_the_contexts(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    # Newest rule first: the first `ls` sees no builder, later ones see the one made.
    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-context-nodes.jsonl").read_text())
    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-only-default.jsonl").read_text(), times=1)
    fake.on("context", "ls", stdout=(DATA / "buildx-context-ls.jsonl").read_text())
    fake.on("--host", stdout=INFO)
    builder = setup(settings_for(tmp_path, name="tb", nodes=TB_NODES), fake, bootstrap=False)
    assert mutating(fake) == [
        f"context create tn1 --docker host={SOCK1}",
        f"context create tn2 --docker host={SOCK2}",
        "buildx create --name tb --driver docker-container --platform linux/amd64 --node tn1 tn1",
        (
            "buildx create --append --name tb --driver-opt network=host "
            "--platform linux/arm64,linux/arm/v7 --node tn2 tn2"
        ),
    ]
    assert builder.commands[0] == f"docker context create tn1 --docker host={SOCK1}"
    assert builder_state.load_state(config_dir, "tb").contexts == {"tn1": SOCK1, "tn2": SOCK2}


ARM64_INFO = json.dumps({**json.loads(INFO), "Architecture": "aarch64"})


def test_a_node_without_platforms_is_given_its_daemons_own_with_a_warning(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    from structlog.testing import capture_logs

    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-only-default.jsonl").read_text())
    fake.on("context", "ls", stdout=(DATA / "buildx-context-ls.jsonl").read_text())
    fake.on("--host", SOCK2, "info", stdout=ARM64_INFO)
    fake.on("--host", SOCK1, "info", stdout=INFO)
    nodes = [TB_NODES[0], {"name": "tn2", "endpoint": SOCK2}]
    with capture_logs() as logs:
        setup(settings_for(tmp_path, name="tb", nodes=nodes), fake, bootstrap=False)
    creates = [m for m in mutating(fake) if m.startswith("buildx create")]
    assert creates == [
        "buildx create --name tb --driver docker-container --platform linux/amd64 --node tn1 tn1",
        "buildx create --append --name tb --platform linux/arm64 --node tn2 tn2",
    ]
    warnings = [e for e in logs if e["log_level"] == "warning" and e.get("node") == "tn2"]
    assert warnings == [
        {"event": "node has no platforms configured; it is given its daemon's own (set the "
         "node's platforms to choose others)", "builder": "tb", "node": "tn2",
         "platform": "linux/arm64", "log_level": "warning"},
    ]  # fmt: skip
    # Asked once: the answer is kept for the next setup.
    assert builder_state.load_state(config_dir, "tb").natives[SOCK2] == "linux/arm64"


def test_every_node_of_a_created_builder_gets_a_platform(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-only-default.jsonl").read_text())
    fake.on("context", "ls", stdout=(DATA / "buildx-context-ls.jsonl").read_text())
    fake.on("--host", stdout=INFO)
    nodes = [{"name": n, "endpoint": SOCK1 if n == "a" else SOCK2} for n in ("a", "b")]
    setup(settings_for(tmp_path, name="tb", nodes=nodes), fake, bootstrap=False)
    creates = [c.args for c in fake.find("buildx", "create")]
    assert len(creates) == 2
    assert all(args[args.index("--platform") + 1] == "linux/amd64" for args in creates)


def test_a_node_whose_daemon_does_not_answer_is_warned_about(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    from structlog.testing import capture_logs

    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-only-default.jsonl").read_text())
    fake.on("--host", exit_code=1, stderr="Cannot connect to the Docker daemon")
    nodes = [{"name": "r1", "endpoint": "tcp://10.0.0.9:1234"}]
    with capture_logs() as logs:
        setup(settings_for(tmp_path, name="rb", driver="remote", nodes=nodes), fake,
              bootstrap=False)  # fmt: skip
    assert fake.find("--host") == []  # a remote node is not a docker daemon: nothing to ask
    create = fake.find("buildx", "create")[0].args
    assert "--platform" not in create
    assert {
        "event": "node has no platforms configured; buildx may send it any platform it can "
        "emulate (set the node's platforms)",
        "builder": "rb", "node": "r1", "log_level": "warning",
    } in logs  # fmt: skip


def test_dry_run_prints_the_plan_and_records_nothing(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeRunner(dry_run=True)
    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-only-default.jsonl").read_text())
    fake.on("context", "ls", stdout=(DATA / "buildx-context-ls.jsonl").read_text())
    fake.on("--host", stdout=INFO)
    builder = setup(settings_for(tmp_path, name="tb", nodes=TB_NODES), fake)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"docker context create tn1 --docker host={SOCK1}",
        f"docker context create tn2 --docker host={SOCK2}",
        (
            "docker buildx create --name tb --driver docker-container --platform linux/amd64 "
            "--node tn1 tn1"
        ),
        (
            "docker buildx create --append --name tb --driver-opt network=host "
            "--platform linux/arm64,linux/arm/v7 --node tn2 tn2"
        ),
        "docker buildx inspect --bootstrap tb",
    ]
    assert [n.status for n in builder.nodes] == ["planned", "planned"]
    assert not builder_state.state_path(config_dir, "tb").exists()


def test_removed_node_leaves_and_only_owned_contexts_go(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    recorded_tb(config_dir, fake)
    setup(settings_for(tmp_path, name="tb", nodes=TB_NODES[:1]), fake, bootstrap=False)
    assert mutating(fake) == [
        "buildx create --leave --name tb --node tn2",
        "--context tn2 rm --force buildx_buildkit_tn2",
        "--context tn2 volume rm --force buildx_buildkit_tn2_state",
        "context rm --force tn2",
    ]
    assert builder_state.load_state(config_dir, "tb").contexts == {"tn1": SOCK1}


def test_docker_driver_builder_is_only_checked(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-only-default.jsonl").read_text())
    fake.on("--context", "default", "info", stdout=INFO)
    builder = setup(settings_for(tmp_path, name="default"), fake)
    assert mutating(fake) == []
    assert builder.driver == "docker"
    assert builder.emulated == ["linux/arm64", "linux/arm/v7"]
    assert builder.nodes[0].native == "linux/amd64"


def test_broken_docker_driver_builder_is_an_error(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    fake.on("buildx", "ls", stdout='{"Name":"default","Driver":"docker","Nodes":[{"Name":"default",'
            '"Endpoint":"default","Err":"Cannot connect to the Docker daemon"}]}\n')  # fmt: skip
    with pytest.raises(BuildxpyError, match=r"'default' \(docker driver\) is not usable: Cannot"):
        setup(settings_for(tmp_path, name="default"), fake)


def test_use_runs_only_when_not_current(tmp_path: Path, config_dir: Path, fake: FakeRunner) -> None:
    recorded_tb(config_dir, fake)
    settings = settings_for(tmp_path, name="tb", nodes=TB_NODES)
    setup(settings, fake, bootstrap=False, use=True)
    assert mutating(fake) == ["buildx use tb"]
    (config_dir / "buildx" / "current").write_text('{"Key":"x","Name":"tb","Global":false}')
    fake.calls.clear()
    assert setup(settings, fake, bootstrap=False, use=True).current
    assert mutating(fake) == []


# ------------------------------------------------------------- bootstrap

BOOT_ERROR = (DATA / "buildx-bootstrap-pull-error.txt").read_text()


def test_boot_failures_are_parsed_per_node() -> None:
    assert builder_boot.parse_boot_failures(BOOT_ERROR) == [
        ("smpn2", "foo:1", ('Error response from daemon: failed to resolve reference '
         '"docker.io/library/foo:1": failed to do request: Head '
         '"https://registry-1.docker.io/v2/library/foo/manifests/1": dial tcp: lookup '
         "registry-1.docker.io on 10.255.255.53:53: no such host")),
        ("smp0", "moby/buildkit:buildx-stable-1", ('Error response from daemon: failed to resolve '
         'reference "docker.io/moby/buildkit:buildx-stable-1": failed to do request: Head '
         '"https://registry-1.docker.io/v2/moby/buildkit/manifests/buildx-stable-1": dial tcp: '
         "lookup registry-1.docker.io on 10.255.255.53:53: no such host")),
    ]  # fmt: skip


def test_boot_failure_is_one_clear_paragraph(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-two-nodes.jsonl").read_text())
    fake.on("buildx", "inspect", "--bootstrap", exit_code=1, stderr=BOOT_ERROR)
    fake.on(
        "--host",
        SOCK1,
        "logs",
        exit_code=1,
        stderr="Error response from daemon: No such container: buildx_buildkit_smp0\n",
    )
    fake.on("context", "ls", stdout=(DATA / "buildx-context-ls.jsonl").read_text())  # fmt: skip
    settings = settings_for(tmp_path, name="smp", platforms=["linux/amd64", "linux/arm64"],
                            driver_opts={"network": "host"})  # fmt: skip
    with pytest.raises(BuildxpyError) as info:
        setup(settings, fake)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        "builder 'smp' node 'smpn2' (smpn2) failed to boot: cannot pull the BuildKit image foo:1 "
        "(no registry reachable?): lookup registry-1.docker.io on 10.255.255.53:53: no such host; "
        "node 'smp0' (unix:///var/run/docker.sock) failed to boot: cannot pull the BuildKit image "
        "moby/buildkit:buildx-stable-1 (no registry reachable?): lookup registry-1.docker.io"
    )
    assert "no BuildKit container was started" in message
    assert info.value.details == []
    # Its node configuration was changed before the boot: smpn2 left the builder.
    assert "buildx create --leave --name smp --node smpn2" in mutating(fake)


def test_boot_failure_shows_the_container_log_tail(config_dir: Path, fake: FakeRunner) -> None:
    log_lines = "\n".join(f"level=info msg=line{i}" for i in range(30)) + "\n"
    fake.on(
        "buildx",
        "inspect",
        exit_code=1,
        stderr="#1 [x0 internal] booting buildkit\n#1 ERROR: container exited (1)\n",
    )
    fake.on("--context", "ctx", "logs", stderr=log_lines)  # fmt: skip
    with pytest.raises(BuildxpyError) as info:
        builder_boot.boot(fake, "x", {"x0": "ctx"}, {"x0": "ctx"}, 10.0)
    assert str(info.value) == "builder 'x' node 'x0' (ctx) failed to boot: container exited (1)"
    assert info.value.details == [f"level=info msg=line{i}" for i in range(10, 30)]
    assert fake.find("--context", "ctx", "logs")[0].args[3:] == [
        "--tail",
        "20",
        "buildx_buildkit_x0",
    ]


def test_boot_gets_a_timeout(config_dir: Path, fake: FakeRunner) -> None:
    builder_boot.boot(fake, "x", {}, {}, 42.0)
    assert fake.find("buildx", "inspect", "--bootstrap", "x")[0].timeout == 42.0


def test_running_builder_is_not_booted_again(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    recorded_tb(config_dir, fake)
    running = (DATA / "buildx-ls-context-nodes.jsonl").read_text().replace("inactive", "running")
    fake.on("buildx", "ls", stdout=running)
    setup(settings_for(tmp_path, name="tb", nodes=TB_NODES), fake)
    assert fake.find("buildx", "inspect") == []


# ------------------------------------------------------------- emulation


@pytest.mark.parametrize(
    ("natives", "configured", "emulated"),
    [
        (["linux/amd64"], ["linux/amd64", "linux/arm64"], ["linux/arm64"]),
        (["linux/amd64", "linux/arm64"], ["linux/amd64", "linux/arm64"], []),
        (["linux/amd64"], ["linux/386", "linux/amd64/v2"], []),
        (["linux/arm/v7"], ["linux/arm/v6", "linux/arm/v7"], []),
        (["linux/arm/v6"], ["linux/arm/v7"], ["linux/arm/v7"]),
        (["linux/arm64"], ["linux/arm/v7", "linux/riscv64"], ["linux/arm/v7", "linux/riscv64"]),
        ([], ["linux/amd64"], ["linux/amd64"]),
    ],
)  # fmt: skip
def test_emulated_platforms(natives: list[str], configured: list[str], emulated: list[str]) -> None:
    got = emulation.emulated_platforms([parse(p) for p in configured], [parse(p) for p in natives])
    assert [str(p) for p in got] == emulated


# ------------------------------------------------------------- ls, inspect, rm, use, stop


def test_inspect_missing_builder_names_it(config_dir: Path, fake: FakeRunner) -> None:
    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-only-default.jsonl").read_text())
    with pytest.raises(BuilderNotFound, match="builder 'nope' does not exist"):
        builders.inspect_builder("nope", fake)
    with pytest.raises(BuilderNotFound, match="'nope'"):
        builders.remove_builder("nope", fake)
    assert mutating(fake) == []


def test_rm_removes_only_the_contexts_buildxpy_created(config_dir: Path, fake: FakeRunner) -> None:
    recorded_tb(config_dir, fake)
    builder_state.save_state(config_dir, "tb", builder_state.BuilderState(contexts={"tn2": SOCK2}))
    removed = builders.remove_builder("tb", fake, keep_state=True)
    assert mutating(fake) == ["buildx rm --keep-state tb", "context rm tn2"]
    assert removed.name == "tb"
    assert not builder_state.state_path(config_dir, "tb").exists()


def test_rm_keeps_a_context_another_builder_runs_on(config_dir: Path, fake: FakeRunner) -> None:
    recorded_tb(config_dir, fake)
    other = '{"Name":"other","Driver":"docker-container","Nodes":[{"Name":"o1","Endpoint":"tn1"}]}'
    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-context-nodes.jsonl").read_text() + other)
    builders.remove_builder("tb", fake)
    assert mutating(fake) == ["buildx rm tb", "context rm tn2"]


def test_use_and_stop(config_dir: Path, fake: FakeRunner) -> None:
    recorded_tb(config_dir, fake)
    assert builders.use_builder("tb", fake).current
    builders.stop_builder("tb", fake)
    assert mutating(fake) == ["buildx use tb", "buildx stop tb"]


# ------------------------------------------------------------- lock


def test_lock_serialises_changes_to_one_builder(config_dir: Path) -> None:
    events: list[str] = []

    def hold(tag: str) -> None:
        with builder_state.builder_lock(config_dir, "tb"):
            events.append(f"{tag} in")
            time.sleep(0.2)
            events.append(f"{tag} out")

    threads = [threading.Thread(target=hold, args=(t,)) for t in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert events[0].endswith("in")
    assert events[1].endswith("out")
    assert events[0].split()[0] == events[1].split()[0]
    assert (config_dir / "buildxpy" / "locks" / "tb.lock").exists()


# ------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["builder", "setup", "--builder", "a/b"], "invalid builder name 'a/b'"),
        (["builder", "setup", "--node", "=unix:///x.sock"], "invalid --node '=unix:///x.sock'"),
        (["builder", "setup", "--node", "n1=ftp://host"], "unsupported endpoint 'ftp://host'"),
        (["builder", "inspect", "x/y"], "invalid builder name 'x/y'"),
        (["builder", "rm", "x/y"], "invalid builder name 'x/y'"),
        (["builder", "setup", "--platform", "linux/arm65"], "unknown architecture 'arm65'"),
    ],
)
def test_bad_input_is_one_line_before_any_docker_call(
    argv: list[str], error: str, cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("buildxpy: error: ")
    assert error in err
    assert err.count("\n") == 1
    assert cli_fake.calls == []


def test_unknown_driver_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["builder", "setup", "--driver", "podman"])
    assert info.value.code == 2


def test_unknown_driver_in_the_config_file_is_one_line(
    tmp_path: Path, cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "buildxpy.toml"
    config.write_text('[builder]\ndriver = "podman"\n')
    assert cli.main(["builder", "setup", "--config", str(config)]) == 1
    assert "builder.driver" in capsys.readouterr().err
    assert cli_fake.calls == []


def test_cli_ls_json(
    config_dir: Path, cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-two-nodes.jsonl").read_text())
    assert cli.main(["builder", "ls", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(b["name"], b["status"]) for b in listed] == [
        ("smp", "inactive"), ("default", "running"), ("smpn2", "running"),
    ]  # fmt: skip
    assert listed[0]["nodes"][1] == {
        "name": "smpn2", "endpoint": "smpn2", "status": "inactive", "buildkit": None,
        "platforms": ["linux/arm/v7"], "driver_opts": {"image": "foo:1"},
        "buildkitd_flags": ["--debug", "--allow-insecure-entitlement=network.host",
                            "--allow-insecure-entitlement=network.host"],
        "native": None, "error": None,
    }  # fmt: skip


def test_cli_inspect_table(
    config_dir: Path, cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-two-nodes.jsonl").read_text())
    assert cli.main(["builder", "inspect", "smp"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "NAME/NODE",
        "DRIVER",
        "ENDPOINT",
        "STATUS",
        "BUILDKIT",
        "PLATFORMS",
    ]
    assert lines[1].split() == ["smp", "docker-container"]
    assert lines[2].split() == ["smp0", SOCK1, "inactive", "linux/amd64,", "linux/arm64"]


def test_cli_inspect_defaults_to_the_configured_builder(
    config_dir: Path, cli_fake: FakeRunner, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("BUILDXPY_BUILDER", "missing-one")
    cli_fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-only-default.jsonl").read_text())
    assert cli.main(["builder", "inspect"]) == 1
    assert "builder 'missing-one' does not exist" in capsys.readouterr().err


def test_lone_node_boot_failure_is_named_after_the_node() -> None:
    stderr = (DATA / "buildx-bootstrap-pull-error-one-node.txt").read_text()
    [(node, image, error)] = builder_boot.parse_boot_failures(stderr, "zz10")
    assert (node, image) == ("zz10", "moby/buildkit:buildx-stable-1")
    message = builder_boot.boot_failure_message(
        "zz1", [(node, image, error)], {"zz10": "unix:///var/run/docker.sock"}, started=False
    )
    assert message.startswith(
        "builder 'zz1' node 'zz10' (unix:///var/run/docker.sock) failed to boot: cannot pull the "
        "BuildKit image moby/buildkit:buildx-stable-1 (no registry reachable?): "
        "lookup registry-1.docker.io on 10.255.255.53:53: no such host; "
        "no BuildKit container was started"
    )


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        ("failed to resolve reference \"reg:5000/bk:x\": reg:5000/bk:x: not found",
         "the registry has no such image"),
        ("pull access denied for bk, repository does not exist or may require 'docker login'",
         "not logged in, or no such image"),
        ("dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host",
         "no registry reachable?"),
    ],
)  # fmt: skip
def test_boot_cause_says_why_the_pull_failed(error: str, hint: str) -> None:
    from buildxpy.builders.boot import boot_cause

    assert boot_cause("reg:5000/bk:x", error).startswith(
        f"cannot pull the BuildKit image reg:5000/bk:x ({hint}): "
    )


# ------------------------------------------------------------- buildkitd configuration

BXREC_LS = (
    '{"Name":"bxrec","Driver":"docker-container","Nodes":[{"Name":"bxrec0",'
    f'"Endpoint":"{SOCK1}","Status":"inactive"}}]}}\n'
)
# What the recorded `bxrec` builder was created from (buildx 0.13.1).
BXREC_CONFIG = (
    'debug = true\n[worker.oci]\n  max-parallelism = 4\n[registry."docker.io"]\n'
    '  mirrors = ["mirror.gcr.io"]\n[registry."reg.internal:5000"]\n  http = true\n'
    '  insecure = true\n  ca = ["ca.pem"]\n'
)


@pytest.fixture
def bxrec(
    tmp_path: Path, config_dir: Path, fake: FakeRunner, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ca.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
    )
    (tmp_path / "buildkitd.toml").write_text(BXREC_CONFIG)
    fake.on("buildx", "ls", stdout=BXREC_LS)
    (config_dir / "buildx" / "instances").mkdir(parents=True)
    shutil.copy(
        DATA / "buildx-instance-buildkitd-config.json", config_dir / "buildx/instances/bxrec"
    )
    builder_state.save_state(
        config_dir, "bxrec", builder_state.BuilderState(natives={SOCK1: "linux/amd64"})
    )
    return tmp_path / "buildkitd.toml"


def test_unchanged_buildkitd_config_is_one_read_only_query(
    tmp_path: Path, bxrec: Path, fake: FakeRunner
) -> None:
    configured = settings_mod.load(
        {
            "platforms": ["linux/amd64"],
            "builder": {"name": "bxrec", "buildkitd_config": str(bxrec)},
        },
        cwd=tmp_path,
    )
    builder = setup(configured, fake, bootstrap=False)
    assert fake.args_list() == [["buildx", "ls", "--format", "json"]]
    assert builder.commands == []


def test_changed_buildkitd_config_recreates_the_node_keeping_its_state(
    tmp_path: Path, bxrec: Path, fake: FakeRunner
) -> None:
    bxrec.write_text(BXREC_CONFIG.replace("max-parallelism = 4", "max-parallelism = 2"))
    configured = settings_mod.load(
        {
            "platforms": ["linux/amd64"],
            "builder": {"name": "bxrec", "buildkitd_config": str(bxrec)},
        },
        cwd=tmp_path,
    )
    builder = setup(configured, fake, bootstrap=False)
    assert mutating(fake) == [
        "buildx rm --keep-state bxrec",
        (
            f"buildx create --name bxrec --driver docker-container --buildkitd-config {bxrec} "
            "--platform linux/amd64 --node bxrec0"
        ),
    ]
    assert builder.commands == [f"docker {c}" for c in mutating(fake)]


def test_inline_table_is_written_under_docker_config(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    table = {"registry": {"registry.ci.internal:5000": {"http": True}}}
    configured = settings_mod.load(
        {"platforms": ["linux/amd64"], "builder": {"name": "nb", "buildkitd": table}}, cwd=tmp_path
    )
    setup(configured, fake, bootstrap=False)
    written = config_dir / "buildxpy" / "buildkitd" / "nb.toml"
    assert mutating(fake)[0] == (
        f"buildx create --name nb --driver docker-container --buildkitd-config {written} "
        "--platform linux/amd64 --node nb0"
    )
    assert 'registry."registry.ci.internal:5000"]\n  http = true\n' in written.read_text()


def test_docker_driver_ignores_the_config_with_a_warning(
    tmp_path: Path, config_dir: Path, fake: FakeRunner
) -> None:
    from structlog.testing import capture_logs

    fake.on("buildx", "ls", stdout=(DATA / "buildx-ls-only-default.jsonl").read_text())
    fake.on("--context", "default", "info", stdout=INFO)
    configured = settings_for(tmp_path, name="default", buildkitd={"max_parallelism": 2})
    with capture_logs() as logs:
        setup(configured, fake)
    assert mutating(fake) == []
    [warning] = [e for e in logs if e["log_level"] == "warning" and "buildkitd" in e["event"]]
    assert "docker driver" in warning["reason"]
