"""The pure parts of `buildxpy verify`: the image tree's path lookup, PATH, symlinks and #!
resolution of the entrypoint, the tar reader, the report and the one error line; the docker
calls through a FakeRunner."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tarfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from buildxpy.cli import main as cli
from buildxpy.docker.models import ContainerConfig
from buildxpy.docker.runner import Completed
from buildxpy.platforms.elf import EM_AARCH64, EM_ARM, EM_X86_64
from buildxpy.verification.check import verify
from buildxpy.verification.entrypoint import (
    DEFAULT_PATH,
    UNKNOWN,
    Entry,
    Found,
    ImageTree,
    Missing,
    Need,
    Resolution,
    candidates,
    command,
    resolve,
    search_path,
)
from buildxpy.verification.files import dockerfile, export_argv, read_tar
from buildxpy.verification.report import PlatformVerdict, VerificationFailed, VerifyReport
from tests.fakes import FakeRunner

REPO = "127.0.0.1:5000/app"


def elf(machine: int = EM_X86_64, bits: int = 64, flags: int = 0) -> bytes:
    """The start of a little-endian Linux executable for ``machine``."""
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1, 1, 0]) + bytes(8)
    if bits == 64:
        rest = struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0, 64, 0, flags, 64, 56, 0, 64, 0, 0)
    else:
        rest = struct.pack("<HHIIIIIHHHHHH", 2, machine, 1, 0, 52, 0, flags, 52, 32, 0, 40, 0, 0)
    return ident + rest


ARM_HARD = 0x05000400  # EABI5, hard-float


def run_file(head: bytes) -> Entry:
    return Entry("file", head=head, executable=True)


def tree(entries: dict[str, Entry], *, complete: bool = True) -> ImageTree:
    t = ImageTree()
    for path in sorted(entries, key=lambda p: tuple(p.strip("/").split("/"))):
        t.add(path, entries[path])
    if complete:
        t.finish()
    return t


def config(
    entrypoint: Iterable[str] = (),
    cmd: Iterable[str] = (),
    env: Iterable[str] = (),
    workdir: str = "",
) -> ContainerConfig:
    return ContainerConfig.model_validate(
        {"Entrypoint": list(entrypoint), "Cmd": list(cmd), "Env": list(env), "WorkingDir": workdir}
    )


def resolved(cfg: ContainerConfig, t: ImageTree) -> Resolution:
    outcome = resolve(cfg, t)
    assert isinstance(outcome, Resolution), outcome
    return outcome


BUSYBOX = {
    "/bin": Entry("dir"),
    "/bin/busybox": run_file(elf()),
    "/bin/sh": Entry("symlink", target="/bin/busybox"),
    "/bin/uname": Entry("symlink", target="busybox"),
}

# --------------------------------------------------------------------------- the tree


def test_lookup_follows_absolute_and_relative_symlinks() -> None:
    t = tree(BUSYBOX)
    found = t.lookup("/bin/sh")
    assert isinstance(found, Found)
    assert found.path == "/bin/busybox"
    assert found.links == ("/bin/sh -> /bin/busybox",)
    relative = t.lookup("/bin/uname")
    assert isinstance(relative, Found)
    assert relative.path == "/bin/busybox"


def test_lookup_follows_symlinked_directories_as_merged_usr_has_them() -> None:
    t = tree({
        "/bin": Entry("symlink", target="usr/bin"),
        "/sbin": Entry("symlink", target="/usr/bin"),
        "/usr/bin/dash": run_file(elf()),
        "/usr/bin/sh": Entry("symlink", target="dash"),
    })  # fmt: skip
    for path in ("/bin/sh", "/sbin/sh", "/usr/bin/sh", "/bin/../bin/sh"):
        found = t.lookup(path)
        assert isinstance(found, Found), path
        assert found.path == "/usr/bin/dash"


def test_dotdot_cannot_leave_the_image() -> None:
    t = tree(
        {"/bin/tool": run_file(elf()), "/lib/up": Entry("symlink", target="../../../bin/tool")}
    )
    found = t.lookup("/lib/up")
    assert isinstance(found, Found)
    assert found.path == "/bin/tool"


@pytest.mark.parametrize(
    ("entries", "path", "reason"),
    [
        ({"/bin/x": Entry("symlink", target="/nowhere")}, "/bin/x", "no such file"),
        ({"/a": Entry("symlink", target="/b"), "/b": Entry("symlink", target="/a")}, "/a",
         "too many levels of symbolic links"),
        ({"/bin/tool": run_file(b"")}, "/bin/tool/x", "not a directory"),
        ({}, "/usr/local/bin/app", "no such file"),
    ],
)  # fmt: skip
def test_lookup_misses(entries: dict[str, Entry], path: str, reason: str) -> None:
    assert tree(entries).lookup(path) == Missing(reason)


def test_a_path_is_unknown_until_the_stream_has_gone_past_it() -> None:
    t = ImageTree()
    t.add("/bin", Entry("dir"))
    t.add("/bin/busybox", run_file(elf()))
    assert t.lookup("/usr/bin/env") is UNKNOWN
    assert t.lookup("/bin/ash") == Missing()  # sorts before /bin/busybox, which came
    t.add("/var", Entry("dir"))
    assert t.lookup("/usr/bin/env") == Missing()


def test_out_of_order_entries_make_nothing_missing_before_the_end() -> None:
    t = ImageTree()
    t.add("/var/x", Entry("dir"))
    t.add("/bin/busybox", run_file(elf()))
    assert t.lookup("/usr/bin/env") is UNKNOWN
    t.finish()
    assert t.lookup("/usr/bin/env") == Missing()


# --------------------------------------------------------------------------- PATH


def test_search_path_defaults_to_dockers() -> None:
    assert search_path(config()) == DEFAULT_PATH.split(":")


def test_search_path_takes_the_last_path_of_the_env_and_reads_empty_as_the_workdir() -> None:
    cfg = config(env=["PATH=/nope", "HOME=/root", "PATH=/opt/app/bin::/usr/bin"], workdir="/srv")
    assert search_path(cfg) == ["/opt/app/bin", "/srv", "/usr/bin"]


def test_candidates_of_a_name_with_a_slash_are_relative_to_the_workdir() -> None:
    cfg = config(workdir="/app")
    assert candidates("./run.sh", cfg) == ["/app/run.sh"]
    assert candidates("bin/run", cfg) == ["/app/bin/run"]
    assert candidates("/abs", cfg) == ["/abs"]
    assert candidates("python3", config(env=["PATH=/a:/b"])) == ["/a/python3", "/b/python3"]


def test_command_is_entrypoint_then_cmd() -> None:
    assert command(config(["/init"], ["serve", "-v"])) == ["/init", "serve", "-v"]
    assert command(config(cmd=["sh"])) == ["sh"]


# --------------------------------------------------------------------------- resolve


def test_bare_command_is_found_on_path_through_its_symlink() -> None:
    result = resolved(config(cmd=["uname", "-m"]), tree(BUSYBOX))
    [step] = result.steps
    assert step.shown == "/bin/uname -> /bin/busybox"
    assert step.what == "ELF 64-bit LSB x86_64"
    assert result.binary == step
    assert result.notes == ()


def test_first_runnable_candidate_wins_and_non_executables_are_skipped() -> None:
    t = tree({
        "/usr/local/bin/tool": Entry("file", head=elf(EM_AARCH64), executable=False),
        "/usr/bin/tool": run_file(elf(EM_X86_64)),
        "/bin/tool": run_file(elf(EM_ARM, 32)),
    })  # fmt: skip
    [step] = resolved(config(cmd=["tool"]), t).steps
    assert step.path == "/usr/bin/tool"


def test_a_script_runs_its_interpreter() -> None:
    t = tree({**BUSYBOX, "/app/hello": run_file(b"#!/bin/sh\necho hi\n")})
    result = resolved(config(["/app/hello"]), t)
    assert [str(s) for s in result.steps] == [
        "/app/hello (#!/bin/sh script)",
        "/bin/sh -> /bin/busybox (ELF 64-bit LSB x86_64)",
    ]


def test_env_shebang_checks_env_and_the_program_it_finds_on_path() -> None:
    t = tree({
        "/usr/bin/env": run_file(elf()),
        "/usr/bin/python3": Entry("symlink", target="python3.11"),
        "/usr/bin/python3.11": run_file(elf(EM_AARCH64)),
        "/srv/app.py": run_file(b"#!/usr/bin/env python3\nprint(1)\n"),
    })  # fmt: skip
    result = resolved(config(cmd=["/srv/app.py"]), t)
    assert [s.shown for s in result.steps] == [
        "/srv/app.py", "/usr/bin/env", "/usr/bin/python3 -> /usr/bin/python3.11",
    ]  # fmt: skip
    assert [s.shown for s in result.elf_steps] == [
        "/usr/bin/env",
        "/usr/bin/python3 -> /usr/bin/python3.11",
    ]
    assert result.binary is not None
    assert result.binary.what == "ELF 64-bit LSB aarch64"


def test_an_interpreter_without_a_slash_is_relative_to_the_workdir_not_path() -> None:
    t = tree({**BUSYBOX, "/w/run": run_file(b"#!sh\n"), "/w/sh": run_file(elf(EM_AARCH64))})
    result = resolved(config(["/w/run"], workdir="/w"), t)
    assert [s.real for s in result.steps] == ["/w/run", "/w/sh"]


def test_a_missing_entrypoint_falls_back_to_the_shell_with_a_note() -> None:
    result = resolved(config(["/app/server"]), tree(BUSYBOX))
    assert [s.shown for s in result.steps] == ["/bin/sh -> /bin/busybox"]
    assert result.notes == (
        "entrypoint '/app/server' not found in the image",
        "checked /bin/sh instead",
    )


def test_a_script_whose_interpreter_is_missing_falls_back_to_the_shell() -> None:
    t = tree({**BUSYBOX, "/run.sh": run_file(b"#!/bin/bash\n")})
    result = resolved(config(["/run.sh"]), t)
    assert result.binary is not None
    assert result.binary.shown == "/bin/sh -> /bin/busybox"
    assert "'/bin/bash', which /run.sh needs, is not found in the image" in result.notes


def test_data_only_image_has_nothing_to_check() -> None:
    result = resolved(config(), tree({"/note.txt": Entry("file")}))
    assert result.steps == ()
    assert result.notes == ("no entrypoint or cmd", "no /bin/sh either")


def test_scripts_calling_scripts_stop_where_the_kernel_does() -> None:
    entries = {f"/s{i}": run_file(f"#!/s{i + 1}\n".encode()) for i in range(6)}
    result = resolved(config(["/s0"]), tree(entries))
    assert "more than 4 levels of #! scripts: gave up" in result.notes


def test_undecided_paths_are_a_need() -> None:
    t = ImageTree()
    t.add("/app/server", run_file(b"#!/bin/sh\n"))
    # "app" sorts before "bin": the stream has not reached /bin/sh yet.
    outcome = resolve(config(["/app/server"]), t)
    assert outcome == Need(("/bin/sh",))


def test_an_unreadable_elf_header_is_reported() -> None:
    result = resolved(config(["/x"]), tree({"/x": run_file(b"\x7fELF\x02\x01")}))
    [step] = result.steps
    assert step.error is not None
    assert "cut short" in step.error


# --------------------------------------------------------------------------- the tar stream


def tar_of(members: Iterable[tuple[str, str, bytes | str]]) -> bytes:
    """(kind, name, content or link target) -> an uncompressed tar, in the given order."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for kind, name, data in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            elif kind in ("sym", "hard"):
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.linkname = str(data)
                archive.addfile(info)
            else:
                content = data if isinstance(data, bytes) else data.encode()
                info.size, info.mode = len(content), 0o755 if kind == "exe" else 0o644
                archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def test_read_tar_keeps_names_symlinks_hardlinks_and_executable_heads() -> None:
    data = tar_of([
        ("dir", "bin/", b""), ("exe", "bin/busybox", elf() + bytes(10_000)),
        ("hard", "bin/bb", "bin/busybox"), ("sym", "bin/sh", "/bin/busybox"),
        ("file", "etc/motd", "hello"), ("exe", "./.init", "#!/bin/sh\n"),
    ])  # fmt: skip
    t = read_tar(io.BytesIO(data), lambda _: False)
    assert t.complete
    assert t.entries["/bin/busybox"].head == (elf() + bytes(10_000))[:256]
    assert t.entries["/bin/bb"] == t.entries["/bin/busybox"]
    assert t.entries["/bin/sh"] == Entry("symlink", target="/bin/busybox")
    assert t.entries["/etc/motd"] == Entry("file", head=b"", executable=False)
    assert t.entries["/.init"].head == b"#!/bin/sh\n"


def test_read_tar_stops_as_soon_as_the_caller_has_enough() -> None:
    members: list[tuple[str, str, bytes | str]] = [("dir", "bin/", b""), ("exe", "bin/sh", elf())]
    members += [("file", f"usr/share/doc/{i:04}", "x") for i in range(500)]
    stream = io.BytesIO(tar_of(members))
    cfg = config(cmd=["/bin/sh"])
    t = read_tar(stream, lambda t: not isinstance(resolve(cfg, t), Need))
    assert not t.complete
    assert stream.read(1)  # the rest was never read


def test_an_empty_stream_is_an_empty_finished_tree() -> None:
    t = read_tar(io.BytesIO(b""), lambda _: False)
    assert t.complete
    assert t.lookup("/bin/sh") == Missing()


def test_the_reading_build_is_a_one_line_dockerfile_exported_as_a_tar_on_stdout() -> None:
    assert dockerfile(f"{REPO}@sha256:{'a' * 64}", "linux/arm/v7") == (
        f"FROM --platform=linux/arm/v7 {REPO}@sha256:{'a' * 64}\n"
    )
    assert dockerfile("r/x@sha256:b", None) == "FROM r/x@sha256:b\n"
    argv = export_argv("multi", Path("/tmp/ctx"))
    assert argv[:4] == ["buildx", "build", "--builder", "multi"]
    assert argv[argv.index("--output") + 1] == "type=tar,dest=-"
    assert "--push" not in argv
    assert "--load" not in argv


# --------------------------------------------------------------------------- verify with a fake


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def image_config(platform: str, cmd: list[str]) -> str:
    os_, arch, *variant = platform.split("/")
    body = {"os": os_, "architecture": arch, "config": {"Cmd": cmd}}
    if variant:
        body["variant"] = variant[0]
    return json.dumps(body)


def fake_index(
    fake: FakeRunner,
    ref: str,
    images: list[tuple[str, str, bytes]],
    *,
    attest: bool = True,
) -> str:
    """An index at ``ref``: (descriptor platform, config platform, busybox head) per image."""
    manifests = []
    for n, (label, claimed, _head) in enumerate(images):
        digest = "sha256:" + f"{n + 1:x}" * 64
        os_, arch, *variant = label.split("/")
        platform = {"os": os_, "architecture": arch, **({"variant": variant[0]} if variant else {})}
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": digest, "size": 500, "platform": platform})  # fmt: skip
        fake.on("buildx", "imagetools", "inspect", f"{REPO}@{digest}", "--format",
                stdout=image_config(claimed, ["sh"]))  # fmt: skip
    if attest:
        manifests.append({
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "f" * 64,
            "size": 800, "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
        })  # fmt: skip
    raw = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                      "manifests": manifests})  # fmt: skip
    fake.on("buildx", "imagetools", "inspect", ref, "--raw", stdout=raw)
    fake.on("buildx", "imagetools", "inspect", f"{REPO}@{digest_of(raw)}", "--raw", stdout=raw)
    return digest_of(raw)


def _all_tars(fake: FakeRunner, images: dict[str, bytes]) -> None:
    """One build rule answering every image's stream by the digest its Dockerfile names."""
    from buildxpy.docker.runner import Completed

    def answer(call):  # type: ignore[no-untyped-def]
        with open(call.args[call.args.index("--file") + 1]) as handle:  # noqa: PTH123
            wanted = handle.read()
        for digest, tar in images.items():
            if digest in wanted:
                return Completed(0, stdout=tar.decode("latin-1"))
        return Completed(1, stderr_tail=["ERROR: no such image"])

    fake.on("buildx", "build", answer=answer)


def three(fake: FakeRunner, ref: str, images: list[tuple[str, str, bytes]]) -> None:
    fake_index(fake, ref, images)
    tars = {}
    for n, (_, _, head) in enumerate(images):
        tars["sha256:" + f"{n + 1:x}" * 64] = tar_of(
            [("dir", "bin/", b""), ("exe", "bin/busybox", head), ("sym", "bin/sh", "/bin/busybox")]
        )
    _all_tars(fake, tars)


GOOD = [
    ("linux/amd64", "linux/amd64", elf(EM_X86_64)),
    ("linux/arm64", "linux/arm64", elf(EM_AARCH64)),
    ("linux/arm/v7", "linux/arm/v7", elf(EM_ARM, 32, ARM_HARD)),
]
ALL3 = ["linux/amd64", "linux/arm64", "linux/arm/v7"]


def test_verify_passes_a_truthful_index(fake: FakeRunner) -> None:
    three(fake, f"{REPO}:1", GOOD)
    report = verify(f"{REPO}:1", ALL3, builder="default", runner=fake)
    assert report.ok
    assert [p.platform for p in report.platforms] == ALL3
    assert [p.binary for p in report.platforms] == ["/bin/sh -> /bin/busybox"] * 3
    assert report.platforms[2].elf == "ELF 32-bit LSB arm, EABI5 hard-float"
    # One index read, one config read and one file-system stream per platform; no writes.
    reads = [" ".join(c.args[:3]) for c in fake.calls]
    assert reads.count("buildx imagetools inspect") == 4
    assert reads.count("buildx build --builder") == 3


def test_verify_names_every_mismatch(fake: FakeRunner) -> None:
    three(fake, f"{REPO}:1", [
        ("linux/amd64", "linux/amd64", elf(EM_AARCH64)),  # lies about its binary
        ("linux/arm/v7", "linux/arm64", elf(EM_AARCH64)),  # descriptor disagrees with config
    ])  # fmt: skip
    report = verify(f"{REPO}:1", ALL3, builder="default", runner=fake)
    assert not report.ok
    assert [(p.platform, p.status) for p in report.platforms] == [
        ("linux/amd64", "mismatch"), ("linux/arm64", "missing"), ("linux/arm/v7", "mismatch"),
    ]  # fmt: skip
    assert report.error_message() == (
        f"{REPO}:1 is not what it claims: "
        "linux/amd64: /bin/sh -> /bin/busybox is ELF 64-bit LSB aarch64, but linux/amd64 needs "
        "ELF 64-bit LSB x86_64; "
        "linux/arm64: missing from the index; "
        "linux/arm/v7: the index says linux/arm/v7 but the image config says linux/arm64; "
        "linux/arm/v7: /bin/sh -> /bin/busybox is ELF 64-bit LSB aarch64, but linux/arm/v7 needs "
        "ELF 32-bit LSB arm"
    )
    with pytest.raises(VerificationFailed) as caught:
        report.raise_for_mismatch()
    assert caught.value.report is report


def test_a_push_that_fails_its_check_is_logged_as_an_error(fake: FakeRunner) -> None:
    from structlog.testing import capture_logs

    from buildxpy.manifests.lists import VerifyOptions, check_pushed

    three(fake, f"{REPO}:1", [("linux/amd64", "linux/amd64", elf(EM_AARCH64))])
    with capture_logs() as logs, pytest.raises(VerificationFailed, match="released"):
        check_pushed(fake, f"{REPO}:1", VerifyOptions(["linux/amd64"], "default"), "released")
    [failed] = [e for e in logs if e["event"] == "verification failed after the push"]
    assert failed["log_level"] == "error"
    assert failed["what"] == "released"


def test_extra_and_repeated_platforms_fail(fake: FakeRunner) -> None:
    three(fake, f"{REPO}:1", [GOOD[0], GOOD[1], GOOD[0]])
    report = verify(f"{REPO}:1", ["linux/amd64"], builder="default", runner=fake)
    problems = report.mismatches
    assert "linux/arm64: not among the expected platforms (linux/amd64)" in problems
    assert "linux/amd64: listed more than once in the index" in problems


def test_without_expected_platforms_the_set_is_not_checked(fake: FakeRunner) -> None:
    three(fake, f"{REPO}:1", GOOD[:1])
    report = verify(f"{REPO}:1", None, builder="default", runner=fake)
    assert report.ok
    assert report.expected is None
    assert report.notes == ["platform set not checked: no expected platforms given"]


def test_a_lone_manifest_is_its_configs_platform(fake: FakeRunner) -> None:
    raw = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"digest": "sha256:" + "c" * 64, "size": 1}, "layers": []})  # fmt: skip
    digest = digest_of(raw)
    fake.on("buildx", "imagetools", "inspect", f"{REPO}:one", "--raw", stdout=raw)
    fake.on("buildx", "imagetools", "inspect", f"{REPO}@{digest}", "--format",
            stdout=image_config("linux/arm64", []))  # fmt: skip
    _all_tars(fake, {digest: tar_of([("file", "note.txt", "data")])})
    report = verify(f"{REPO}:one", ["linux/arm64"], builder="default", runner=fake)
    assert report.ok
    assert not report.is_index
    [entry] = report.platforms
    assert entry.platform == "linux/arm64"
    assert "no ELF binary in the image to check (data only?)" in entry.notes
    two = verify(f"{REPO}:one", ["linux/arm64", "linux/amd64"], builder="default", runner=fake)
    assert "linux/arm64: a single-platform image, not an index" in two.mismatches
    assert "linux/amd64: missing from the index" in two.mismatches


def test_platforms_without_elf_binaries_are_not_read(fake: FakeRunner) -> None:
    fake_index(fake, f"{REPO}:win", [("windows/amd64", "windows/amd64", b"MZ")], attest=False)
    report = verify(f"{REPO}:win", ["windows/amd64"], builder="default", runner=fake)
    assert report.ok
    assert report.platforms[0].notes == ["windows/amd64 has no ELF binaries to check"]
    assert fake.find("buildx", "build") == []


def test_an_unreadable_image_is_an_error_not_a_report(fake: FakeRunner) -> None:
    fake.on("buildx", "imagetools", "inspect", f"{REPO}:gone", "--raw", exit_code=1,
            stderr=f"ERROR: {REPO}:gone: not found\n")  # fmt: skip
    with pytest.raises(Exception, match="does not exist in its registry"):
        verify(f"{REPO}:gone", ALL3, runner=fake)


def test_a_missing_builder_is_named(fake: FakeRunner) -> None:
    from buildxpy.errors import BuilderNotFound

    fake_index(fake, f"{REPO}:1", GOOD[:1], attest=False)
    fake.on("buildx", "build", exit_code=1, stderr='ERROR: no builder "nope" found\n')
    with pytest.raises(BuilderNotFound, match="builder 'nope' does not exist"):
        verify(f"{REPO}:1", ["linux/amd64"], builder="nope", runner=fake)


# --------------------------------------------------------------------------- the command


def test_cli_exit_1_with_one_error_line_after_the_table(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    three(cli_fake, f"{REPO}:1", [GOOD[0], ("linux/arm64", "linux/arm64", elf(EM_X86_64))])
    code = cli.main(["-q", "verify", f"{REPO}:1", "--platform", "linux/amd64,linux/arm64"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        (
            f"buildxpy: error: {REPO}:1 is not what it claims: linux/arm64: /bin/sh -> /bin/busybox "
            "is ELF 64-bit LSB x86_64, but linux/arm64 needs ELF 64-bit LSB aarch64"
        )
    ]
    header, amd64, arm64 = out.splitlines()[1:4]
    assert header.split() == ["PLATFORM", "DIGEST", "CONFIG", "BINARY", "VERDICT"]
    assert amd64.startswith("linux/amd64 ")
    assert amd64.endswith(" ok")
    assert arm64.startswith("linux/arm64 ")
    assert arm64.endswith(" MISMATCH")


def test_cli_json_report_and_configured_platforms(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDXPY_PLATFORMS", "linux/amd64,linux/arm64,linux/arm/v7")
    monkeypatch.setenv("BUILDXPY_BUILDER", "multi")
    three(cli_fake, f"{REPO}:1", GOOD)
    assert cli.main(["-q", "verify", f"{REPO}:1", "--json"]) == 0
    report = VerifyReport.model_validate_json(capsys.readouterr().out)
    assert report.ok
    assert report.expected == ALL3
    builds = cli_fake.find("buildx", "build")
    assert {c.args[c.args.index("--builder") + 1] for c in builds} == {"multi"}


def test_cli_with_nothing_configured_checks_no_platform_set(
    cli_fake: FakeRunner,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default platforms say nothing about someone's image: three correct platforms pass."""
    monkeypatch.chdir(tmp_path)
    three(cli_fake, f"{REPO}:1", GOOD)
    assert cli.main(["-q", "verify", f"{REPO}:1", "--json"]) == 0
    report = VerifyReport.model_validate_json(capsys.readouterr().out)
    assert report.ok
    assert report.expected is None
    assert [p.platform for p in report.platforms] == ALL3


def test_report_models_serialise_ok_and_status() -> None:
    bad = PlatformVerdict(
        platform="linux/arm64", status="missing", problems=["missing from the index"]
    )
    report = VerifyReport(ref="r/a:1", digest="sha256:x", media_type="", is_index=True,
                          expected=["linux/arm64"], platforms=[bad])  # fmt: skip
    dumped = report.model_dump()
    assert dumped["ok"] is False
    assert dumped["platforms"][0]["ok"] is False
    assert report.error_message("pushed r/a@sha256:x, but it is") == (
        "pushed r/a@sha256:x, but it is not what it claims: linux/arm64: missing from the index"
    )


# --------------------------------------------------------------------------- settings and commands


def test_verify_is_on_by_default_and_off_by_env_flag_or_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from buildxpy.settings import model as settings

    cwd = tmp_path
    assert settings.load({}, cwd=cwd).verify is True
    monkeypatch.setenv("BUILDXPY_VERIFY", "false")
    assert settings.load({}, cwd=cwd).verify is False
    assert settings.load({"verify": True}, cwd=cwd).verify is True
    monkeypatch.delenv("BUILDXPY_VERIFY")
    (cwd / "buildxpy.toml").write_text("verify = false\n")
    assert settings.load({}, config=cwd / "buildxpy.toml", cwd=cwd).verify is False


def test_platforms_count_as_configured_only_when_someone_configured_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from buildxpy.settings import model as settings

    cwd = tmp_path
    assert settings.load({}, cwd=cwd).platforms_given is False
    assert settings.load({"platforms": ["linux/arm64"]}, cwd=cwd).platforms_given is True
    (cwd / "docker").mkdir()
    (cwd / "docker" / "archs").write_text("amd64\narm32v7\n")
    assert settings.load({}, cwd=cwd).platforms_given is True
    monkeypatch.setenv("BUILDXPY_PLATFORMS", "linux/amd64")
    assert settings.load({}).platforms_given is True


def test_manifest_create_verifies_the_new_index_by_digest(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    index_digest = fake_index(cli_fake, f"{REPO}:2", GOOD[:2])
    _all_tars(cli_fake, {
        "sha256:" + f"{n + 1:x}" * 64: tar_of([("exe", "bin/sh", head)])
        for n, (_, _, head) in enumerate(GOOD[:2])
    })  # fmt: skip
    single_sources(cli_fake)
    args = ["-q", "manifest", "create", f"{REPO}:2", f"{REPO}:amd64", f"{REPO}:arm64",
            "--builder", "default", "--platform", "linux/amd64,linux/arm64"]  # fmt: skip
    assert cli.main(args) == 0
    assert capsys.readouterr().out == f"{index_digest}\n"
    inspected = [c.args[3] for c in cli_fake.find("buildx", "imagetools", "inspect")]
    assert f"{REPO}@{index_digest}" in inspected
    assert len(cli_fake.find("buildx", "build")) == 2
    # --no-verify: the index is written and read back, nothing else.
    cli_fake.calls.clear()
    assert cli.main([*args, "--no-verify"]) == 0
    assert cli_fake.find("buildx", "build") == []


def single_sources(fake: FakeRunner) -> None:
    """`REPO:amd64` and `REPO:arm64`: one image each, as `manifest create` sources."""
    manifest = json.dumps({"schemaVersion": 2, "layers": [],
                           "mediaType": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    for tag, (_, claimed, _head) in zip(("amd64", "arm64"), GOOD[:2], strict=True):
        fake.on("buildx", "imagetools", "inspect", f"{REPO}:{tag}", "--raw", stdout=manifest)
        fake.on("buildx", "imagetools", "inspect", f"{REPO}:{tag}", "--format",
                stdout=image_config(claimed, ["sh"]))  # fmt: skip


@pytest.mark.parametrize("command", ["create", "release"])
def test_a_platform_set_known_wrong_before_the_push_tags_nothing(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """Three platforms expected, two there: refused before any tag is written."""
    fake_index(cli_fake, f"{REPO}:latest", GOOD[:2])
    single_sources(cli_fake)
    cli_fake.on("buildx", "imagetools", "inspect", f"{REPO}:v2", exit_code=1,
                stderr=f"ERROR: {REPO}:v2: not found\n")  # fmt: skip
    if command == "create":
        args = ["manifest", "create", f"{REPO}:2", f"{REPO}:amd64", f"{REPO}:arm64"]
    else:
        args = ["release", "v2", "--image", REPO]
    code = cli.main([*args, "--builder", "default",
                     "--platform", "linux/amd64,linux/arm64,linux/arm/v7"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1, err
    assert "linux/arm/v7: missing" in err
    assert "nothing was pushed" in err
    assert cli_fake.find("buildx", "imagetools", "create") == []


def test_verification_without_the_configured_builder_uses_the_current_one(
    cli_fake: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job that only promotes images has no `buildxpy` builder: the check uses the current one
    (and names it to imagetools), so a successful push is never followed by exit 1 for it."""
    fake_index(cli_fake, f"{REPO}:latest", GOOD[:2])
    [latest] = [r for r in cli_fake.rules if r.prefix[3:5] == (f"{REPO}:latest", "--raw")]
    assert isinstance(latest.answer, Completed)
    _all_tars(cli_fake, {
        "sha256:" + f"{n + 1:x}" * 64: tar_of([("exe", "bin/sh", head)])
        for n, (_, _, head) in enumerate(GOOD[:2])
    })  # fmt: skip
    cli_fake.on("buildx", "inspect", stdout="Name:          default\nDriver:        docker\n")
    cli_fake.on("buildx", "inspect", "buildxpy", exit_code=1,
                stderr='ERROR: no builder "buildxpy" found\n')  # fmt: skip
    cli_fake.on(
        "buildx", "imagetools", "inspect", f"{REPO}:v2", "--raw", stdout=latest.answer.stdout
    )
    cli_fake.on("buildx", "imagetools", "inspect", f"{REPO}:v2", "--raw", exit_code=1,
                stderr=f"ERROR: {REPO}:v2: not found\n", times=1)  # fmt: skip
    assert cli.main(["release", "v2", "--image", REPO]) == 0, capsys.readouterr().err
    builds = cli_fake.find("buildx", "build")
    assert builds
    assert all(c.args[c.args.index("--builder") + 1] == "default" for c in builds)
    reads = [c for c in cli_fake.find("buildx", "imagetools") if c.args[2] != "create"]
    assert reads
    assert all(c.args[-2:] == ["--builder", "default"] for c in reads)
    [create] = cli_fake.find("buildx", "imagetools", "create")
    assert create.args[3:5] == ["--builder", "default"]


def test_a_failed_read_is_tried_once_more_then_named(fake: FakeRunner) -> None:
    from buildxpy.verification.files import ReadFailed

    fake_index(fake, f"{REPO}:1", GOOD[:1], attest=False)
    _all_tars(fake, {"sha256:" + "1" * 64: tar_of([("exe", "bin/sh", elf())])})
    fake.on("buildx", "build", exit_code=1, stderr="ERROR: failed to solve: not found\n", times=1)
    assert verify(f"{REPO}:1", ["linux/amd64"], builder="default", runner=fake).ok
    assert len(fake.find("buildx", "build")) == 2
    fake.on("buildx", "build", exit_code=1, stderr="ERROR: failed to solve: not found\n")
    with pytest.raises(ReadFailed, match=r"cannot read the files of .* with builder 'default': "
                       r"failed to solve: not found"):  # fmt: skip
        verify(f"{REPO}:1", ["linux/amd64"], builder="default", runner=fake)
