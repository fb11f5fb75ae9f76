"""``rebuild-check``: the pushed image read through the runner, its commit checked out, the rebuild
written as an OCI archive and compared platform by platform, down to the files of each layer."""

from __future__ import annotations

import io
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from buildxpy.builds.spec import BuildSpec
from buildxpy.cli import main as cli
from buildxpy.docker.runner import Completed
from buildxpy.errors import BuildxpyError, ConfigError
from buildxpy.platforms.names import parse
from buildxpy.rebuilds import report
from buildxpy.rebuilds.check import RebuildCheck, rebuild_check
from buildxpy.rebuilds.comparison import (
    LayerChange,
    PlatformCheck,
    config_differences,
    manifest_differences,
)
from buildxpy.rebuilds.layer_files import FileChange, differences, listing
from buildxpy.rebuilds.oci_archive import OciArchive
from buildxpy.rebuilds.pushed import PushedImage, created_epoch, output_options
from buildxpy.rebuilds.source import source_of
from tests.fakes import Call, FakeRunner
from tests.oci_layouts import Image, index_bytes, layer, write_archive, write_lone_image

REPO = "r.example/app"
REF = f"{REPO}:1.0"
BASE = layer({"bin/sh": b"shell"}, mtime=1000)
LABELS = {"org.opencontainers.image.revision": "", "org.opencontainers.image.version": "1.0",
          "maintainer": "someone"}  # fmt: skip


def images(app: bytes = b"built") -> list[Image]:
    return [
        Image(platform, [BASE, layer({"app": app, f"arch-{platform[6:]}": b""})], dict(LABELS),
              annotations={"org.opencontainers.image.version": "1.0"})
        for platform in ("linux/amd64", "linux/arm64", "linux/arm/v7")
    ]  # fmt: skip


def serve(fake: FakeRunner, pushed: list[Image]) -> None:
    """The registry's answers for ``REF``, as imagetools prints them."""
    fake.on("buildx", "imagetools", "inspect", REF, "--raw", stdout=index_bytes(pushed).decode())
    for image in pushed:
        ref = f"{REPO}@{image.digest}"
        fake.on("buildx", "imagetools", "inspect", ref, "--raw",
                stdout=image.manifest_bytes().decode())  # fmt: skip
        fake.on("buildx", "imagetools", "inspect", ref, "--format",
                stdout=json.dumps(image.config()))  # fmt: skip


def builds_into_archives(fake: FakeRunner, rebuilt: list[Image], pushed: list[Image]) -> None:
    """``buildx build --output type=oci,dest=…``: the rebuild writes ``rebuilt``; a build FROM
    a pushed image writes that image."""

    def build(call: Call) -> Completed:
        output = call.args[call.args.index("--output") + 1]
        dest = Path(
            next(f for f in output.split(",") if f.startswith("dest=")).removeprefix("dest=")
        )
        if "--no-cache" in call.args:
            platform = call.args[call.args.index("--platform") + 1]
            write_archive(dest, [image for image in rebuilt if image.platform == platform])
        else:
            wanted = (dest.parent / "Dockerfile").read_text().split("@")[1].strip()
            write_archive(dest, [image for image in pushed if image.digest == wanted])
        return Completed(exit_code=0)

    fake.on("buildx", "build", answer=build)


def builders_made_appear_in_ls(fake: FakeRunner) -> None:
    """``buildx ls`` lists each builder ``buildx create`` made, running, as buildx 0.13 prints it."""

    def ls(call: Call) -> Completed:
        made = [c.args[c.args.index("--name") + 1] for c in fake.find("buildx", "create")]
        return Completed(exit_code=0, stdout="".join(
            json.dumps({"Name": name, "Driver": "docker-container", "Nodes": [
                {"Name": f"{name}0", "Endpoint": "unix:///var/run/docker.sock",
                 "Status": "running", "Platforms": ["linux/amd64"]}
            ]}) + "\n"
            for name in made
        ))  # fmt: skip

    fake.on("buildx", "ls", answer=ls)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    path = tmp_path / "checkout"
    path.mkdir()
    (path / "Dockerfile").write_text("FROM scratch\nCOPY app /app\n")
    (path / "app").write_text("x")
    for argv in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "one"],
    ):
        subprocess.run(["git", *argv], cwd=path, check=True)  # fmt: skip
    return path


def head(path: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def spec(checkout: Path) -> BuildSpec:
    return BuildSpec(platforms=(parse("linux/amd64"),), context=str(checkout), builder="fresh",
                     labels={"team": "a"}, cache_from=("type=registry,ref=x",))  # fmt: skip


def with_revision(built: list[Image], revision: str) -> list[Image]:
    for image in built:
        image.labels["org.opencontainers.image.revision"] = revision
    return built


def test_an_image_rebuilt_the_same_passes_on_every_platform(checkout: Path) -> None:
    fake = FakeRunner()
    pushed = with_revision(images(), head(checkout))
    serve(fake, pushed)
    builds_into_archives(fake, with_revision(images(), head(checkout)), pushed)
    result = rebuild_check(REF, spec(checkout), fake, environ={})
    assert result.same
    assert [(c.platform, c.same) for c in result.platforms] == [
        ("linux/amd64", True), ("linux/arm64", True), ("linux/arm/v7", True),
    ]  # fmt: skip
    # Every platform REF has, each into an archive of its own (buildx writes no multi-platform
    # archive from a multi-node builder), no cache, the epoch of the pushed config.
    each = fake.find("buildx", "build")
    assert [c.args[c.args.index("--platform") + 1] for c in each] == [
        "linux/amd64", "linux/arm64", "linux/arm/v7",
    ]  # fmt: skip
    args = each[2].args
    assert args[args.index("--builder") + 1] == "fresh"
    assert "--no-cache" in args
    assert "--push" not in args
    assert "--cache-from" not in args
    output = args[args.index("--output") + 1]
    assert output.startswith("type=oci,dest=")
    assert output.endswith(",oci-mediatypes=true,rewrite-timestamp=true")
    assert "SOURCE_DATE_EPOCH=1700000000" in args
    # What no source says comes from the pushed image: its OCI labels and manifest annotations;
    # a label of the Dockerfile's own is rebuilt, not copied.
    assert "org.opencontainers.image.version=1.0" in args
    assert "maintainer=someone" not in args
    assert "team=a" in args
    assert "manifest:org.opencontainers.image.version=1.0" in args
    assert result.revision == head(checkout)


def test_a_platform_that_differs_names_its_layer_and_files(checkout: Path) -> None:
    fake = FakeRunner()
    pushed = with_revision(images(b"first"), head(checkout))
    serve(fake, pushed)
    builds_into_archives(fake, with_revision(images(b"second"), head(checkout)), pushed)
    result = rebuild_check(REF, spec(checkout), fake, environ={})
    assert not result.same
    amd64 = result.platforms[0]
    assert amd64.config == ("rootfs.diff_ids",)
    (changed,) = amd64.layers
    assert changed.number == 2
    assert [(f.path, f.what) for f in changed.files] == [("/app", ("content",))]
    # The pushed layers come from a build FROM the image by digest, one per differing platform.
    froms = [c for c in fake.find("buildx", "build") if "--no-cache" not in c.args]
    assert len(froms) == 3
    assert report.failure(result) == (
        f"rebuild-check: {REF} did not rebuild the same: linux/amd64, linux/arm64, linux/arm/v7 "
        "differ"
    )
    text = "\n".join(report.lines(result))
    assert "linux/amd64   differs  pushed sha256:" in text
    assert "    layer 2: sha256:" in text
    assert "      /app (content)" in text


def test_only_the_platforms_asked_for_are_rebuilt(checkout: Path) -> None:
    fake = FakeRunner()
    pushed = with_revision(images(), head(checkout))
    serve(fake, pushed)
    builds_into_archives(fake, pushed, pushed)
    result = rebuild_check(REF, spec(checkout), fake, platforms=["linux/arm64"], environ={})
    assert [c.platform for c in result.platforms] == ["linux/arm64"]
    (build,) = fake.find("buildx", "build")
    assert build.args[build.args.index("--platform") + 1] == "linux/arm64"
    with pytest.raises(BuildxpyError, match=r"has no linux/s390x \(it has linux/amd64, "):
        rebuild_check(REF, spec(checkout), fake, platforms=["linux/s390x"], environ={})


def test_the_commit_the_image_names_is_checked_out_beside_the_checkout(checkout: Path) -> None:
    first = head(checkout)
    (checkout / "app").write_text("changed")
    subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qam", "two"],
                   cwd=checkout, check=True)  # fmt: skip
    with source_of(first, checkout) as source:
        assert source.tree is not None
        assert source.tree != checkout
        assert (source.tree / "app").read_text() == "x"
        assert source.path(checkout / "Dockerfile") == source.tree / "Dockerfile"
        tree = source.tree
    assert not tree.exists()
    listed = subprocess.run(["git", "worktree", "list"], cwd=checkout, capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    assert len(listed.splitlines()) == 1
    # The checkout itself when it is that commit, unmodified; a modified one is not used.
    with source_of(None, checkout) as source:
        assert source.tree == checkout
    (checkout / "app").write_text("dirty")
    with source_of(head(checkout), checkout) as source:
        assert source.tree is not None
        assert source.tree != checkout
        assert (source.tree / "app").read_text() == "changed"


def test_a_commit_the_checkout_lacks_is_one_line(checkout: Path) -> None:
    lacking = pytest.raises(ConfigError, match=r"built from commit 0123abc, which .* does not have")
    with lacking, source_of("0123abc", checkout):
        pass


def test_outside_a_checkout_the_directory_is_rebuilt_as_it_is(tmp_path: Path) -> None:
    with source_of("0123abc", tmp_path) as source:
        assert source.tree is None
        assert source.path(tmp_path / "x") == tmp_path / "x"


def test_layer_listings_name_content_time_and_presence() -> None:
    before = listing(io.BytesIO(layer({"a": b"1", "b": b"2", "gone": b""}, mtime=5)))
    after = listing(io.BytesIO(layer({"a": b"1", "b": b"3", "new": b""}, mtime=6)))
    assert [(c.path, c.what) for c in differences(before, after)] == [
        ("/a", ("mtime",)),
        ("/b", ("content", "mtime")),
        ("/gone", ("only in the pushed image",)),
        ("/new", ("only in the rebuilt image",)),
    ]
    # Leading dots are part of a name, not of the path's prefix.
    assert list(listing(io.BytesIO(layer({"./.profile": b""})))) == ["/.profile"]


def test_a_zstd_layer_is_refused_in_one_line() -> None:
    with pytest.raises(BuildxpyError, match="zstd-compressed layer cannot be listed"):
        listing(io.BufferedReader(io.BytesIO(b"\x28\xb5\x2f\xfd" + b"\0" * 64)))


def test_an_archive_lists_its_images_without_attestations(tmp_path: Path) -> None:
    built = images()
    write_archive(tmp_path / "a.tar", built)
    with OciArchive(tmp_path / "a.tar") as archive:
        assert archive.images() == {i.platform: i.digest for i in built}
        with archive.blob(built[0].manifest()["layers"][1]["digest"]) as stream:
            assert "/app" in listing(stream)
    # An entry without a platform is read from its config.
    write_lone_image(tmp_path / "lone.tar", built[2])
    with OciArchive(tmp_path / "lone.tar") as archive:
        assert archive.images() == {"linux/arm/v7": built[2].digest}
    (tmp_path / "b.tar").write_text("not a tar")
    with pytest.raises(BuildxpyError, match="cannot read the OCI archive"):
        OciArchive(tmp_path / "b.tar")


def test_the_archive_is_written_as_the_pushed_manifests_were() -> None:
    oci = images()[0]
    pushed = PushedImage("linux/amd64", REF, oci.digest, oci.manifest(), oci.config())
    assert output_options(pushed) == "oci-mediatypes=true"
    docker = {**oci.manifest(), "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
    assert output_options(PushedImage("linux/amd64", REF, "d", docker, {})) == (
        "oci-mediatypes=false"
    )
    zstd = {"layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd"}]}
    assert output_options(PushedImage("linux/amd64", REF, "d", zstd, {})) == (
        "oci-mediatypes=true,compression=zstd"
    )
    assert created_epoch(pushed) == "1700000000"
    assert created_epoch(PushedImage("linux/amd64", REF, "d", {}, {"created": "soon"})) is None


def test_manifest_differences_name_annotations_and_media_types() -> None:
    pushed = {"mediaType": "a", "config": {"digest": "1"}, "annotations": {"x": "1", "y": "1"}}
    rebuilt = {"mediaType": "b", "config": {"digest": "2"}, "annotations": {"x": "1"}}
    assert manifest_differences(pushed, rebuilt) == ("annotations.y", "mediaType")


def test_config_differences_are_named_by_field() -> None:
    pushed = {"created": "a", "config": {"Env": ["A=1"], "Labels": {"x": "1"}}, "history": []}
    rebuilt = {"created": "b", "config": {"Env": ["A=1"], "Labels": {"x": "2"}}}
    assert config_differences(pushed, rebuilt) == ("config.Labels.x", "created")


def test_the_command_prints_each_platform_and_exits_1_when_one_differs(
    cli_fake: FakeRunner,
    checkout: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(checkout)
    pushed = with_revision(images(b"first"), head(checkout))
    serve(cli_fake, pushed)
    rebuilt = with_revision(images(b"first"), head(checkout))
    rebuilt[1] = with_revision(images(b"second"), head(checkout))[1]
    builds_into_archives(cli_fake, rebuilt, pushed)
    builders_made_appear_in_ls(cli_fake)
    assert cli.main(["rebuild-check", REF, "--driver-opt", "network=host"]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("linux/amd64   same     sha256:")
    assert "linux/arm64   differs" in captured.out
    assert "/app (content)" in captured.out
    assert f"{REF} did not rebuild the same: linux/arm64 differs" in captured.err
    # A fresh builder, like the configured one, made for the check and removed after it.
    (create,) = cli_fake.find("buildx", "create")
    name = create.args[create.args.index("--name") + 1]
    assert name.startswith("buildxpy-fresh-")
    assert "network=host" in create.args
    assert cli_fake.find("buildx", "rm", name)


def test_a_difference_in_file_times_alone_says_where_it_comes_from() -> None:
    times = PlatformCheck("linux/amd64", "sha256:a", "sha256:b", layers=(
        LayerChange(2, "sha256:c", "sha256:d", (FileChange("/built", ("mtime",)),)),
    ))  # fmt: skip
    assert report.lines(RebuildCheck(REF, None, "1", (times,)))[-1] == f"    {report.TIMES_ONLY}"
    content = replace(times, layers=(
        LayerChange(2, "sha256:c", "sha256:d", (FileChange("/built", ("content", "mtime")),)),
    ))  # fmt: skip
    assert report.TIMES_ONLY not in "\n".join(
        report.lines(RebuildCheck(REF, None, "1", (content,)))
    )


def test_a_fresh_builder_shares_no_node_container_or_context_with_the_configured_one(
    tmp_path: Path,
) -> None:
    from buildxpy.builders.fresh import fresh_builder
    from buildxpy.settings.model import load

    settings = load({"builder": {"name": "multi", "driver": "docker", "nodes": [
        {"name": "amd", "endpoint": "unix:///run/amd.sock", "platforms": ["linux/amd64"]},
        {"name": "arm", "endpoint": "ssh://ci@arm-box", "platforms": ["linux/arm64"]},
    ]}}, cwd=tmp_path)  # fmt: skip
    fake = FakeRunner()
    builders_made_appear_in_ls(fake)
    with fresh_builder(settings.builder.description(), settings.builder_platforms, fake) as name:
        assert name.startswith("multi-fresh-")
    suffix = name.rpartition("-")[2]
    made = [" ".join(c.args) for c in fake.calls if c.args[:2] in (["buildx", "create"],
                                                                   ["context", "create"])]  # fmt: skip
    assert made[0].startswith(f"context create amd-{suffix} --docker host=unix:///run/amd.sock")
    assert f"--name {name} --driver docker-container" in made[2]
    assert f"--node amd-{suffix} amd-{suffix}" in made[2]
    assert f"--node arm-{suffix} arm-{suffix}" in made[3]
    assert fake.find("buildx", "rm", name)
    assert fake.find("context", "rm", f"amd-{suffix}")
    assert fake.find("context", "rm", f"arm-{suffix}")


def test_a_dry_run_prints_the_builder_and_the_builds_and_makes_nothing(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from buildxpy.builders.fresh import fresh_builder
    from buildxpy.settings.model import load

    fake = FakeRunner(dry_run=True)
    pushed = with_revision(images(), head(checkout))
    serve(fake, pushed)
    settings = load({}, cwd=checkout)
    with fresh_builder(settings.builder.description(), settings.builder_platforms, fake) as name:
        result = rebuild_check(REF, replace(spec(checkout), builder=name), fake, environ={})
    assert result.platforms == ()
    # The builder was never made, so the current one reads REF.
    assert all("--builder" not in c.args for c in fake.find("buildx", "imagetools"))
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"docker buildx create --name {name} --driver docker-container")
    assert [line.split()[6] for line in printed if line.startswith("docker buildx build")] == [
        "linux/amd64", "linux/arm64", "linux/arm/v7",
    ]  # fmt: skip
    assert printed[-1] == f"docker buildx rm {name}"
    assert [
        c for c in fake.calls if c.args[:2] in (["buildx", "create"], ["buildx", "build"])
    ] == []
