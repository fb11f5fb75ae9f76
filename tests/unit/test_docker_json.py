from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from buildxpy.docker.models import (
    BuildMetadata,
    BuildxCurrent,
    DockerInfo,
    DockerJsonError,
    DockerVersion,
    ImageConfig,
    ImageIndex,
    ImageInspect,
    ImageManifest,
    LsBuilder,
    OciPlatform,
    load_json,
    parse_context_ls,
    parse_ls,
)
from buildxpy.errors import BuildxpyError

DATA = Path(__file__).parent.parent / "data"
FLAG = "--allow-insecure-entitlement=network.host"


def _model(model: Any) -> Callable[[str], object]:
    return lambda text: load_json(model, text, what="sample")


# Which loader reads a sample, by file name; the first matching pattern wins.
LOADERS: list[tuple[str, Callable[[str], object]]] = [
    ("buildx-ls-*", parse_ls),
    ("buildx-instance-*.json", _model(LsBuilder)),
    ("buildx-current.json", _model(BuildxCurrent)),
    ("buildx-context-ls*", parse_context_ls),
    ("docker-context-ls-*", parse_context_ls),
    ("buildx-node-info.json", _model(DockerInfo)),
    ("docker-info-*.json", _model(DockerInfo)),
    ("docker-version-*.json", _model(DockerVersion)),
    ("image-inspect-*.json", _model(ImageInspect)),
    ("imagetools-image-config-*.json", _model(ImageConfig)),
    ("imagetools-raw-*-manifest.json", _model(ImageManifest)),
    ("imagetools-raw-*.json", _model(ImageIndex)),
    ("manifest-*-index.json", _model(ImageIndex)),
    ("metadata-*.json", _model(BuildMetadata)),
]
SAMPLES = sorted(p for p in DATA.iterdir() if p.suffix in (".json", ".jsonl"))


def loader_for(path: Path) -> Callable[[str], object] | None:
    return next((load for pattern, load in LOADERS if fnmatch(path.name, pattern)), None)


def sample(name: str) -> str:
    return (DATA / name).read_text()


def one_line_error(exc: pytest.ExceptionInfo[BuildxpyError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------------ every sample


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_json_sample_loads(path: Path) -> None:
    load = loader_for(path)
    assert load is not None, f"no model claims {path.name}: add its name pattern to LOADERS"
    assert load(path.read_text())


# ------------------------------------------------------------------------ buildx ls


def test_repeated_builder_lines_merge_by_name() -> None:
    builders = parse_ls(sample("buildx-ls-v0.20-two-nodes.jsonl"))
    assert [b.name for b in builders] == ["multiarch", "arm-box", "default", "pi-lab"]
    multi = builders[0]
    assert multi.driver == "docker-container"
    assert [(n.name, n.endpoint, n.status) for n in multi.nodes] == [
        ("multiarch0", "unix:///var/run/docker.sock", "running"),
        ("arm-box", "arm-box", "running"),
    ]
    assert multi.nodes[1].platforms == ["linux/arm64", "linux/arm/v7", "linux/arm/v6"]
    assert multi.nodes[0].version == "v0.19.0"
    assert multi.current is None


def test_existing_samples_merge_to_one_builder_each() -> None:
    builders = parse_ls(sample("buildx-ls-two-nodes.jsonl"))
    assert [b.name for b in builders] == ["smp", "default", "smpn2"]
    smp = builders[0]
    assert [n.endpoint for n in smp.nodes] == ["unix:///var/run/docker.sock", "smpn2"]
    assert smp.nodes[1].flags == ["--debug", FLAG, FLAG]
    assert smp.nodes[1].driver_opts == {"image": "foo:1"}
    assert smp.last_activity is not None
    assert smp.last_activity.isoformat() == "2026-11-23T19:09:20+00:00"


def test_first_line_of_a_name_wins() -> None:
    text = '{"Name":"b","Driver":"docker-container"}\n{"Name":"b","Driver":"remote"}\n'
    assert [b.driver for b in parse_ls(text)] == ["docker-container"]


def test_unreachable_context_builder() -> None:
    down = parse_ls(sample("buildx-ls-v0.20-two-nodes.jsonl"))[-1]
    assert down.driver == ""
    assert down.err.startswith("Cannot connect to the Docker daemon at tcp://192.168.7.20:2375")
    # buildx lists a nameless node for each one it could not load.
    assert [(n.name, n.endpoint, n.status) for n in down.nodes] == [("", "", "")]


def test_zero_last_activity_is_none() -> None:
    default = parse_ls(sample("buildx-ls-only-default.jsonl"))[0]
    assert default.driver == "docker"
    assert default.last_activity is None
    assert default.nodes[0].version == "v0.0.0+unknown"


def test_current_from_buildx_0_24() -> None:
    builders = parse_ls(sample("buildx-ls-v0.24-current.jsonl"))
    assert [(b.name, b.current) for b in builders] == [("multiarch", True), ("default", False)]
    assert [n.status for n in builders[0].nodes] == ["inactive", "inactive"]
    assert builders[0].nodes[0].version == ""


def test_buildx_0_30_docker_container() -> None:
    bxp, farm, default = parse_ls(sample("buildx-ls-v0.30-docker-container.jsonl"))
    assert (bxp.name, bxp.current, farm.current, default.current) == ("bxp", True, False, False)
    node = bxp.nodes[0]
    assert node.flags == ["--debug", FLAG]
    assert node.driver_opts == {"image": "moby/buildkit:v0.26.0", "memory": "4g"}
    assert node.files["buildkitd.toml"].startswith(b"[worker.oci]\n")
    assert sorted(node.files) == ["buildkitd.toml", "certs/registry.internal:5000/ca.pem"]
    assert node.proxy_config["HTTPS_PROXY"] == "http://proxy.internal:3128"
    assert "linux/arm/v7" in node.platforms
    assert farm.driver == "remote"
    assert farm.nodes[0].endpoint == "tcp://buildkitd.internal:1234"


def test_gc_policy_before_and_after_buildx_0_18() -> None:
    old = parse_ls(sample("buildx-ls-v0.17-running-gc.jsonl"))[0].nodes[0].gc_policy
    new = parse_ls(sample("buildx-ls-v0.30-docker-container.jsonl"))[0].nodes[0].gc_policy
    assert old[0].filter == [
        "type==source.local",
        "type==exec.cachemount",
        "type==source.git.checkout",
    ]
    assert old[0].keep_duration == 172_800_000_000_000
    assert old[1].filter == []
    assert old[1].reserved == old[1].keep_bytes == 4_294_967_296
    assert old[3].all
    assert new[1].reserved == new[1].reserved_space == 10_000_000_000
    assert new[1].max_used_space == 107_374_182_400
    assert new[1].keep_bytes == 0


def test_ls_array_output_is_read_too() -> None:
    text = '[{"Name":"a","Nodes":[{"Name":"a0"}]},{"Name":"a"},{"Name":"b"}]'
    assert [(b.name, len(b.nodes)) for b in parse_ls(text)] == [("a", 1), ("b", 0)]


def test_missing_keys_default() -> None:
    builder = parse_ls('{"Name":"bare","Nodes":[{"Name":"n"}]}')[0]
    assert (builder.driver, builder.dynamic, builder.err, builder.current) == ("", False, "", None)
    node = builder.nodes[0]
    assert (node.endpoint, node.status, node.platforms, node.flags) == ("", "", [], [])
    assert (node.driver_opts, node.files, node.gc_policy, node.labels) == ({}, {}, [], {})


def test_go_nulls_default() -> None:
    text = '{"Name":"n","Driver":"docker-container","Nodes":[{"Name":"n0","Platforms":null,"DriverOpts":null,"Flags":null,"Files":null}],"Err":null}'
    node = parse_ls(text)[0].nodes[0]
    assert (node.platforms, node.driver_opts, node.flags, node.files) == ([], {}, [], {})


def test_unknown_keys_are_ignored() -> None:
    text = '{"Name":"x","Driver":"docker-container","Shiny":{"a":1},"Nodes":[{"Name":"x0","CDIDevices":[{"Name":"gpu"}],"Platforms":["linux/amd64"]}]}'
    builder = parse_ls(text)[0]
    assert builder.nodes[0].platforms == ["linux/amd64"]
    assert "Shiny" not in builder.model_dump(by_alias=True)


def test_blank_lines_and_empty_output() -> None:
    assert parse_ls("") == []
    assert [b.name for b in parse_ls('\n{"Name":"a"}\n\n')] == ["a"]


# ------------------------------------------------------------------------ stored node group


def test_instance_platform_objects_become_strings() -> None:
    builder = load_json(LsBuilder, sample("buildx-instance-context-nodes.json"), what="instance")
    assert builder.current is None
    assert [(n.name, n.endpoint, n.platforms) for n in builder.nodes] == [
        ("tn1", "tn1", ["linux/amd64"]),
        ("tn2", "tn2", ["linux/arm64", "linux/arm/v7"]),
    ]
    assert builder.nodes[0].driver_opts == {}
    assert builder.nodes[1].driver_opts == {"network": "host"}


def test_instance_files_are_decoded() -> None:
    builder = load_json(LsBuilder, sample("buildx-instance-files.json"), what="instance")
    node = builder.nodes[0]
    assert node.platforms == ["linux/amd64", "linux/arm/v7"]
    assert node.files["certs/registry.internal:5000/ca.pem"].startswith(b"-----BEGIN CERTIFICATE")


def test_current_file() -> None:
    current = load_json(BuildxCurrent, sample("buildx-current.json"), what="current")
    assert (current.key, current.name, current.is_global) == (
        "unix:///var/run/docker.sock",
        "",
        False,
    )


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"Name":"a"}\n{"Name":"b",\n',
            (
                "docker buildx ls --format json, line 2: not valid JSON (Expecting property name "
                "enclosed in double quotes at line 1 column 13)"
            ),
        ),
        (
            '{"Name":"a","Nodes":[{"Name":"a0","Platforms":[7]}]}',
            (
                "docker buildx ls --format json, line 1: unexpected JSON at Nodes.0.Platforms.0: "
                "Input should be a valid string"
            ),
        ),
        (
            '{"Driver":"docker"}',
            "docker buildx ls --format json, line 1: unexpected JSON at Name: Field required",
        ),
        (
            "[1]",
            "docker buildx ls --format json, item 1: not a JSON object",
        ),
        (
            "WARNING: something\n",
            (
                "docker buildx ls --format json, line 1: not valid JSON (Expecting value at "
                "line 1 column 1)"
            ),
        ),
    ],
)
def test_malformed_ls_raises_one_line(text: str, expected: str) -> None:
    with pytest.raises(DockerJsonError) as exc:
        parse_ls(text)
    assert one_line_error(exc) == expected


def test_error_is_a_buildxpy_error_with_several_problems_counted() -> None:
    with pytest.raises(BuildxpyError) as exc:
        load_json(ImageManifest, '{"layers":[{"size":"big"}]}', what="manifest of app:1")
    message = one_line_error(exc)
    assert message.startswith("manifest of app:1: unexpected JSON at config: Field required")
    assert message.endswith("(and 2 more problems)")


def test_malformed_files_are_reported() -> None:
    text = '{"Name":"a","Nodes":[{"Name":"a0","Files":{"buildkitd.toml":"W3dvcmtlcl0"}}]}'
    with pytest.raises(DockerJsonError, match=r"at Nodes\.0\.Files\.buildkitd\.toml: Base64"):
        parse_ls(text)


# ------------------------------------------------------------------------ docker contexts


def test_context_ls_lines() -> None:
    contexts = parse_context_ls(sample("buildx-context-ls.jsonl"))
    assert [(c.name, c.docker_endpoint, c.current) for c in contexts] == [
        ("default", "unix:///var/run/docker.sock", True),
        ("smpn2", "unix:///run/buildxpy-bed/node2/docker.sock", False),
    ]
    assert contexts[0].description == "Current DOCKER_HOST based configuration"


def test_context_ls_array() -> None:
    contexts = parse_context_ls(sample("docker-context-ls-array.json"))
    assert [(c.name, c.current) for c in contexts] == [
        ("default", False),
        ("desktop-linux", True),
        ("arm-box", False),
    ]
    assert contexts[2].docker_endpoint == "ssh://builder@arm-box.internal"
    assert contexts[2].error == ""


def test_context_ls_malformed() -> None:
    with pytest.raises(DockerJsonError) as exc:
        parse_context_ls('[{"Name":"a"},{"Current":true}]')
    assert one_line_error(exc) == (
        "docker context ls --format json, item 2: unexpected JSON at Name: Field required"
    )


# ------------------------------------------------------------------------ docker info / version


def test_docker_info() -> None:
    info = load_json(DockerInfo, sample("docker-info-arm64.json"), what="docker info")
    assert (info.architecture, info.os_type, info.server_version) == ("aarch64", "linux", "27.5.1")
    assert (info.driver, info.ncpu, info.name) == ("overlay2", 4, "arm-box")
    assert info.server_errors == []


def test_docker_info_without_daemon() -> None:
    info = load_json(DockerInfo, sample("docker-info-no-daemon.json"), what="docker info")
    assert info.architecture == ""
    assert info.server_errors[0].startswith("Cannot connect to the Docker daemon")


def test_docker_version_with_server() -> None:
    version = load_json(DockerVersion, sample("docker-version-server.json"), what="docker version")
    assert version.client.version == "28.3.2"
    assert version.server is not None
    assert version.server.version == "28.3.2"
    assert version.server.components[0].details["MinAPIVersion"] == "1.24"


def test_docker_version_without_server() -> None:
    version = load_json(
        DockerVersion, sample("docker-version-no-server.json"), what="docker version"
    )
    assert version.client.version == "26.1.5+dfsg1"
    assert version.server is None


# ------------------------------------------------------------------------ images


@pytest.mark.parametrize(
    ("name", "platform", "tags"),
    [
        ("image-inspect-linux-arm-v7.json", "linux/arm/v7", ["exptry:latest-linux-arm-v7"]),
        (
            "image-inspect-linux-arm64.json",
            "linux/arm64",
            ["exptry:latest-linux-arm64", "exptry:v1-linux-arm64"],
        ),
    ],
)
def test_image_inspect(name: str, platform: str, tags: list[str]) -> None:
    image = load_json(ImageInspect, sample(name), what="docker image inspect")
    assert image.platform_text == platform
    assert image.repo_tags == tags
    assert image.id.startswith("sha256:")


def test_image_index_with_attestations() -> None:
    index = load_json(ImageIndex, sample("imagetools-raw-index-attestations.json"), what="index")
    assert index.media_type == "application/vnd.oci.image.index.v1+json"
    assert index.schema_version == 2
    assert len(index.manifests) == 4
    assert [(d.platform.text if d.platform else "", d.size) for d in index.images] == [
        ("linux/amd64", 476),
        ("linux/arm64", 476),
    ]
    assert index.manifests[1].is_attestation
    assert index.manifests[1].annotations["vnd.docker.reference.type"] == "attestation-manifest"


def test_docker_manifest_list() -> None:
    index = load_json(
        ImageIndex, sample("imagetools-raw-docker-list-three-platforms.json"), what="list"
    )
    platforms = [d.platform.text for d in index.images if d.platform]
    assert platforms == ["linux/amd64", "linux/arm64", "linux/arm/v7"]


def test_image_manifest() -> None:
    manifest = load_json(ImageManifest, sample("imagetools-raw-image-manifest.json"), what="m")
    assert manifest.config.media_type == "application/vnd.oci.image.config.v1+json"
    assert manifest.config.digest.startswith("sha256:e821e4a4")
    assert [layer.size for layer in manifest.layers] == [104]


def test_image_config() -> None:
    config = load_json(ImageConfig, sample("imagetools-image-config-amd64.json"), what="config")
    assert config.platform_text == "linux/amd64"
    assert config.config.working_dir == "/"
    assert config.config.env[0].startswith("PATH=")
    assert config.config.entrypoint == []
    assert config.rootfs.diff_ids[0].startswith("sha256:892baa15")
    assert config.history[0].empty_layer


def test_oci_platform_dotted_keys() -> None:
    platform = OciPlatform.model_validate(
        {
            "os": "windows",
            "architecture": "amd64",
            "os.version": "10.0.20348.2582",
            "os.features": ["win32k"],
        }
    )
    assert (platform.os_version, platform.os_features) == ("10.0.20348.2582", ["win32k"])
    assert platform.text == "windows/amd64"
    by_name = OciPlatform(os="linux", architecture="arm", variant="v6")
    assert by_name.text == "linux/arm/v6"
    assert by_name.model_dump(by_alias=True, exclude_defaults=True) == {
        "os": "linux",
        "architecture": "arm",
        "variant": "v6",
    }


# ------------------------------------------------------------------------ build metadata


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        (
            "metadata-single-push.json",
            "sha256:112c91390471c203eac60bf50ca21515db1f4e89bcee18412b0b6bc3b3b6a06d",
        ),
        (
            "metadata-multi-nopush.json",
            "sha256:f1b6b91377a86aafff7ef31d6c3915fa1585687178a8c626a18fb8fcf4202025",
        ),
    ],
)
def test_metadata_digest(name: str, digest: str) -> None:
    metadata = load_json(BuildMetadata, sample(name), what="metadata")
    assert metadata.digest == digest
    assert metadata.descriptor is not None
    assert metadata.descriptor.digest == digest
    assert metadata.image_name.startswith("127.0.0.1:5000/bxp-sample:")
    assert metadata.build_ref.startswith("default/default/")


def test_metadata_config_digest_only_when_pushed() -> None:
    pushed = load_json(BuildMetadata, sample("metadata-single-push.json"), what="metadata")
    loaded = load_json(BuildMetadata, sample("metadata-single-load.json"), what="metadata")
    assert pushed.config_digest.startswith("sha256:")
    assert loaded.config_digest == ""


def test_metadata_warnings_and_provenance() -> None:
    metadata = load_json(BuildMetadata, sample("metadata-warnings-provenance.json"), what="m")
    assert metadata.digest is not None
    assert metadata.image_name.split(",") == [
        "registry.internal:5000/app:1.4",
        "registry.internal:5000/app:latest",
    ]
    assert metadata.provenance["buildType"] == "https://mobyproject.org/buildkit@v1"
    warning = metadata.warnings[0]
    assert warning.message == "UndefinedVar: Usage of undefined variable '$VERSION' (line 4)"
    assert warning.detail == [b"Variables should be defined before their use"]
    assert warning.url.endswith("/undefined-var/")


@pytest.mark.parametrize(
    "text",
    ["{}", '{"containerimage.digest": "md5:abc"}', '{"containerimage.digest": ""}'],
)
def test_metadata_without_sha256_digest(text: str) -> None:
    assert load_json(BuildMetadata, text, what="metadata").digest is None
