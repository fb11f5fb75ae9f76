from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from buildxpy.builders.buildkitd_config import BuildkitdFile
from buildxpy.builders.plan import (
    ActualBuilder,
    DesiredBuilder,
    DesiredNode,
    StoredNode,
    desired_builder,
    load_instance,
    node_matches,
    plan,
)
from buildxpy.errors import ConfigError
from buildxpy.settings import model as settings_mod
from buildxpy.settings.handoff import desired_from_settings

DATA = Path(__file__).parent.parent / "data"
SOCK1 = "unix:///var/run/docker.sock"
SOCK2 = "unix:///run/node2/docker.sock"
SSH = "ssh://root@127.0.0.1:2222"


def load(tmp_path: Path, **overrides: Any) -> settings_mod.Settings:
    return settings_mod.load(overrides, cwd=tmp_path)


def node(name: str, **kw: Any) -> DesiredNode:
    return DesiredNode(name=name, endpoint=kw.pop("endpoint", name), **kw)


def stored(name: str, **kw: Any) -> StoredNode:
    kw.setdefault("flags", ("--allow-insecure-entitlement=network.host",))
    return StoredNode(name=name, endpoint=kw.pop("endpoint", name), **kw)


def argvs(desired: DesiredBuilder, actual: ActualBuilder | None, **kw: Any) -> list[str]:
    contexts = kw.pop("contexts", {})
    owned = kw.pop("owned", frozenset())
    return [" ".join(s.argv) for s in plan(desired, actual, contexts, owned, **kw).steps]


# ------------------------------------------------------------- desired from settings


def test_no_nodes_is_one_qemu_node_on_the_current_endpoint(tmp_path: Path) -> None:
    got = desired_from_settings(
        load(tmp_path, platforms=["linux/amd64", "linux/arm64/v8", "arm32v7"])
    )
    assert got == DesiredBuilder(
        "buildxpy",
        "docker-container",
        (
            node(
                "buildxpy0", endpoint=None, platforms=("linux/amd64", "linux/arm64", "linux/arm/v7")
            ),
        ),
    )


def test_url_endpoints_become_contexts_named_after_the_node(tmp_path: Path) -> None:
    got = desired_from_settings(
        load(
            tmp_path,
            builder={
                "name": "multi",
                "driver_opts": {"network": "host"},
                "buildkitd_flags": "--debug",
                "nodes": [
                    {"name": "n1", "endpoint": SOCK1, "platforms": ["linux/amd64"]},
                    {"name": "n2", "endpoint": SSH, "platforms": ["linux/arm64"],
                     "driver_opts": {"image": "mirror/buildkit:1"}, "buildkitd_flags": ""},
                    {"name": "n3", "endpoint": "my-context"},
                ],
            },
        )
    )  # fmt: skip
    assert got.nodes == (
        DesiredNode("n1", "n1", SOCK1, ("linux/amd64",), (("network", "host"),), ("--debug",)),
        DesiredNode("n2", "n2", SSH, ("linux/arm64",),
                    (("image", "mirror/buildkit:1"), ("network", "host")), ()),
        DesiredNode("n3", "my-context", None, (), (("network", "host"),), ("--debug",)),
    )  # fmt: skip


def test_remote_driver_passes_the_url_through(tmp_path: Path) -> None:
    got = desired_from_settings(
        load(tmp_path, builder={
            "driver": "remote",
            "driver_opts": {"cacert": "/certs/ca.pem", "cert": "/certs/cert.pem"},
            "nodes": [{"name": "r1", "endpoint": "tcp://buildkitd:1234"}],
        })
    )  # fmt: skip
    assert got.nodes[0].endpoint == "tcp://buildkitd:1234"
    assert got.nodes[0].host is None


def test_remote_driver_without_a_node_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="remote driver needs a node"):
        desired_from_settings(load(tmp_path, builder={"driver": "remote"}))


# ------------------------------------------------------------- plans

QEMU = DesiredBuilder("qb", "docker-container",
                      (node("qb0", endpoint=None, platforms=("linux/amd64", "linux/arm64")),))  # fmt: skip
TWO = DesiredBuilder(
    "mb",
    "docker-container",
    (
        node("n1", host=SOCK1, platforms=("linux/amd64",)),
        node("n2", host=SOCK2, platforms=("linux/arm64", "linux/arm/v7"),
             driver_opts=(("network", "host"),), flags=("--debug",)),
    ),
)  # fmt: skip
TWO_STORED = ActualBuilder(
    "mb",
    "docker-container",
    (
        stored("n1", platforms=("linux/amd64",)),
        stored("n2", platforms=("linux/arm64", "linux/arm/v7"), driver_opts=(("network", "host"),),
               flags=("--debug", "--allow-insecure-entitlement=network.host")),
    ),
)  # fmt: skip
BOTH_CONTEXTS = {"default": SOCK1, "n1": SOCK1, "n2": SOCK2}


@pytest.mark.parametrize(
    ("desired", "actual", "kw", "expected"),
    [
        pytest.param(QEMU, None, {}, [
            ("buildx create --name qb --driver docker-container --platform linux/amd64,linux/arm64 "
            "--node qb0"),
        ], id="qemu-builder-created"),
        pytest.param(QEMU, ActualBuilder("qb", "docker-container", (
            stored("qb0", endpoint=SOCK1, platforms=("linux/amd64", "linux/arm64")),)), {}, [],
            id="qemu-builder-unchanged"),
        pytest.param(TWO, None, {"contexts": {"default": SOCK1}}, [
            f"context create n1 --docker host={SOCK1}",
            f"context create n2 --docker host={SOCK2}",
            "buildx create --name mb --driver docker-container --platform linux/amd64 --node n1 n1",
            ("buildx create --append --name mb --driver-opt network=host --buildkitd-flags --debug "
            "--platform linux/arm64,linux/arm/v7 --node n2 n2"),
        ], id="two-nodes-created-with-contexts"),
        pytest.param(TWO, None, {"contexts": BOTH_CONTEXTS}, [
            "buildx create --name mb --driver docker-container --platform linux/amd64 --node n1 n1",
            ("buildx create --append --name mb --driver-opt network=host --buildkitd-flags --debug "
            "--platform linux/arm64,linux/arm/v7 --node n2 n2"),
        ], id="existing-contexts-with-the-same-host-reused"),
        pytest.param(TWO, TWO_STORED, {"contexts": BOTH_CONTEXTS}, [], id="nothing-changed"),
        pytest.param(TWO, ActualBuilder("mb", "docker-container", TWO_STORED.nodes[:1]),
                     {"contexts": BOTH_CONTEXTS}, [
            ("buildx create --append --name mb --driver-opt network=host --buildkitd-flags --debug "
            "--platform linux/arm64,linux/arm/v7 --node n2 n2"),
        ], id="node-added-is-appended"),
        pytest.param(TWO, ActualBuilder("mb", "docker-container", (
            TWO_STORED.nodes[0], stored("n2", platforms=("linux/arm64",))),),
            {"contexts": BOTH_CONTEXTS}, [
            ("buildx create --append --name mb --driver-opt network=host --buildkitd-flags --debug "
            "--platform linux/arm64,linux/arm/v7 --node n2 n2"),
        ], id="changed-node-updated-in-place"),
        pytest.param(DesiredBuilder("mb", "docker-container", TWO.nodes[:1]), TWO_STORED,
                     {"contexts": BOTH_CONTEXTS, "owned": {"n1", "n2"}}, [
            "buildx create --leave --name mb --node n2",
            "--context n2 rm --force buildx_buildkit_n2",
            "--context n2 volume rm --force buildx_buildkit_n2_state",
            "context rm --force n2",
        ], id="removed-node-leaves-and-its-context-goes"),
        pytest.param(DesiredBuilder("mb", "docker-container", TWO.nodes[:1]), TWO_STORED,
                     {"contexts": BOTH_CONTEXTS}, [
            "buildx create --leave --name mb --node n2",
            "--context n2 rm --force buildx_buildkit_n2",
            "--context n2 volume rm --force buildx_buildkit_n2_state",
        ], id="user-owned-context-is-kept"),
        pytest.param(DesiredBuilder("mb", "docker-container", (
            node("n3", host=SSH, platforms=("linux/arm64",)),)), TWO_STORED,
            {"contexts": BOTH_CONTEXTS, "owned": {"n1", "n2"}}, [
            f"context create n3 --docker host={SSH}",
            "buildx create --append --name mb --platform linux/arm64 --node n3 n3",
            "buildx create --leave --name mb --node n1",
            "--context n1 rm --force buildx_buildkit_n1",
            "--context n1 volume rm --force buildx_buildkit_n1_state",
            "context rm --force n1",
            "buildx create --leave --name mb --node n2",
            "--context n2 rm --force buildx_buildkit_n2",
            "--context n2 volume rm --force buildx_buildkit_n2_state",
            "context rm --force n2",
        ], id="appends-run-before-leaves"),
        pytest.param(TWO, TWO_STORED, {"contexts": {"n1": SOCK1, "n2": SSH}, "owned": {"n2"}}, [
            f"context update n2 --docker host={SOCK2}",
            ("buildx create --append --name mb --driver-opt network=host --buildkitd-flags --debug "
            "--platform linux/arm64,linux/arm/v7 --node n2 n2"),
        ], id="moved-endpoint-repoints-its-context-and-restarts-the-node"),
        pytest.param(TWO, TWO_STORED, {"contexts": BOTH_CONTEXTS, "force": True}, [
            "buildx rm mb",
            "buildx create --name mb --driver docker-container --platform linux/amd64 --node n1 n1",
            ("buildx create --append --name mb --driver-opt network=host --buildkitd-flags --debug "
            "--platform linux/arm64,linux/arm/v7 --node n2 n2"),
        ], id="force-removes-and-recreates"),
        pytest.param(DesiredBuilder("mb", "kubernetes", (node("k0", endpoint=None,
            driver_opts=(("namespace", "ci"), ("replicas", "2"))),)), TWO_STORED, {}, [
            "buildx rm mb",
            ("buildx create --name mb --driver kubernetes --driver-opt namespace=ci "
            "--driver-opt replicas=2 --node k0"),
        ], id="other-driver-recreates"),
        pytest.param(DesiredBuilder("rb", "remote", (node("r0", endpoint="tcp://bk:1234",
            driver_opts=(("cacert", "/c/ca.pem"),)),)), None, {}, [
            ("buildx create --name rb --driver remote --driver-opt cacert=/c/ca.pem "
            "--node r0 tcp://bk:1234"),
        ], id="remote-driver-passes-through"),
        pytest.param(TWO, ActualBuilder("mb", "docker", (stored("mb"),)), {}, [],
                     id="docker-driver-builder-used-as-is"),
    ],
)  # fmt: skip
def test_plan(
    desired: DesiredBuilder, actual: ActualBuilder | None, kw: dict[str, Any], expected: list[str]
) -> None:
    assert argvs(desired, actual, **kw) == expected


def test_unowned_context_pointing_elsewhere_is_a_conflict() -> None:
    with pytest.raises(ConfigError, match="context 'n2' already exists and points at"):
        plan(TWO, None, {"n1": SOCK1, "n2": SSH})


def test_docker_driver_builder_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ConfigError, match="docker driver cannot create one"):
        plan(DesiredBuilder("nope", "docker"), None, {})


def test_plan_marks_the_docker_driver_builder() -> None:
    result = plan(QEMU, ActualBuilder("qb", "docker", ()), {})
    assert result.docker_driver
    assert not result.changes


@pytest.mark.parametrize(
    ("wanted", "have", "matches"),
    [
        (node("a", flags=("--debug",)), stored("a", flags=("--debug",)), True),
        (node("a", flags=("--debug",)),
         stored("a", flags=("--debug", "--allow-insecure-entitlement=network.host")), True),
        (node("a", flags=("--debug",)), stored("a"), False),
        (node("a"), stored("a", platforms=("linux/amd64",)), True),
        (node("a", platforms=("linux/arm64",)), stored("a", platforms=("linux/amd64",)), False),
        (node("a", endpoint="b"), stored("a"), False),
        (node("a", endpoint=None), stored("a", endpoint=SOCK1), True),
        (node("a", driver_opts=(("network", "host"),)), stored("a"), False),
    ],
)  # fmt: skip
def test_node_matches(wanted: DesiredNode, have: StoredNode, matches: bool) -> None:
    assert node_matches(wanted, have) is matches


def test_recorded_instance_parses() -> None:
    got = load_instance((DATA / "buildx-instance-two-nodes.json").read_text())
    assert got.name == "smp"
    assert got.driver == "docker-container"
    assert got.nodes[0] == StoredNode(
        "smp0", SOCK1, ("linux/amd64", "linux/arm64"), (("network", "host"),),
        ("--allow-insecure-entitlement=network.host",),
    )  # fmt: skip
    assert got.nodes[1].platforms == ("linux/arm/v7",)
    assert got.nodes[1].driver_opts == (("image", "foo:1"),)
    # The recorded node was created with `--buildkitd-flags '--debug --allow-insecure-…'`.
    wanted = node("smpn2", platforms=("linux/arm/v7",), driver_opts=(("image", "foo:1"),),
                  flags=("--debug", "--allow-insecure-entitlement=network.host"))  # fmt: skip
    assert node_matches(wanted, got.nodes[1])


# ------------------------------------------------------------- buildkitd configuration

CONF = BuildkitdFile("/cfg/buildkitd.toml", '{"debug": true}')
CONF2 = BuildkitdFile("/cfg/buildkitd.toml", '{"debug": false}')
WITH_CONF = DesiredBuilder("cb", "docker-container", (
    node("cb0", endpoint=None, platforms=("linux/amd64",), buildkitd_config=CONF),))  # fmt: skip
CREATE_WITH_CONF = (
    "buildx create --name cb --driver docker-container --buildkitd-config /cfg/buildkitd.toml "
    "--platform linux/amd64 --node cb0"
)


def stored_cb(config: str | None, platforms: tuple[str, ...] = ("linux/amd64",)) -> ActualBuilder:
    return ActualBuilder(
        "cb",
        "docker-container",
        (stored("cb0", endpoint=SOCK1, platforms=platforms, config=config),),
    )


@pytest.mark.parametrize(
    ("desired", "actual", "kw", "expected"),
    [
        pytest.param(WITH_CONF, None, {}, [CREATE_WITH_CONF], id="created-with-the-config"),
        pytest.param(WITH_CONF, stored_cb(CONF.fingerprint), {}, [], id="unchanged-is-a-no-op"),
        pytest.param(WITH_CONF, stored_cb(CONF2.fingerprint), {}, [
            "buildx rm --keep-state cb", CREATE_WITH_CONF,
        ], id="changed-config-recreates-keeping-the-state"),
        pytest.param(WITH_CONF, stored_cb(None), {}, [
            "buildx rm --keep-state cb", CREATE_WITH_CONF,
        ], id="config-added-to-a-node-without-one"),
        pytest.param(WITH_CONF, stored_cb(CONF2.fingerprint), {"force": True}, [
            "buildx rm cb", CREATE_WITH_CONF,
        ], id="force-drops-the-state-as-ever"),
        pytest.param(DesiredBuilder("cb", "docker-container", (
            node("cb0", endpoint=None, platforms=("linux/amd64",)),)),
            stored_cb(CONF.fingerprint), {}, [], id="no-config-wanted-keeps-the-stored-one"),
        pytest.param(DesiredBuilder("cb", "docker-container", (
            node("cb0", endpoint=None, platforms=("linux/amd64", "linux/arm64"),
                 buildkitd_config=CONF),)),
            stored_cb(CONF.fingerprint), {}, [
            "buildx create --append --name cb --platform linux/amd64,linux/arm64 --node cb0",
        ], id="other-changes-update-in-place-without-passing-the-config-again"),
        pytest.param(DesiredBuilder("cb", "docker-container", (
            node("cb0", endpoint=None, platforms=("linux/amd64",), buildkitd_config=CONF),
            node("cb1", host=SOCK2, platforms=("linux/arm64",), buildkitd_config=CONF))),
            stored_cb(CONF.fingerprint), {"contexts": {"cb1": SOCK2}}, [
            ("buildx create --append --name cb --buildkitd-config /cfg/buildkitd.toml "
             "--platform linux/arm64 --node cb1 cb1"),
        ], id="an-added-node-gets-the-config"),
    ],
)  # fmt: skip
def test_buildkitd_config_plan(
    desired: DesiredBuilder, actual: ActualBuilder | None, kw: dict[str, Any], expected: list[str]
) -> None:
    assert argvs(desired, actual, **kw) == expected


def test_a_recreate_for_the_config_is_marked(tmp_path: Path) -> None:
    result = plan(WITH_CONF, stored_cb(CONF2.fingerprint), {})
    assert result.recreated
    assert [s.kind for s in result.steps] == ["rm", "create"]


def test_every_node_gets_the_builders_config(tmp_path: Path) -> None:
    configured = load(tmp_path, builder={"name": "multi", "nodes": [
        {"name": "n1", "endpoint": SOCK1}, {"name": "n2", "endpoint": "my-context"}]})  # fmt: skip
    got = desired_builder(
        configured.builder.description(), configured.builder_platforms, buildkitd=CONF
    )
    assert [n.buildkitd_config for n in got.nodes] == [CONF, CONF]
    assert desired_from_settings(configured).nodes[0].buildkitd_config is None
