"""`buildxpy doctor`: is this machine ready to build for the requested platforms?"""

from __future__ import annotations

import contextlib
import platform as _host
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from buildxpy.builders.facts import list_builders
from buildxpy.docker.models import DockerVersion, load_json
from buildxpy.docker.runner import Runner
from buildxpy.errors import BuildxpyError
from buildxpy.platforms.emulation import (
    BINFMT_DIR,
    find_handler,
    needing_qemu,
    read_handlers,
)
from buildxpy.platforms.names import Platform, host_platform, parse_list
from buildxpy.result_model import ResultModel

MIN_KERNEL = (4, 8)
Status = Literal["ok", "warn", "fail"]


class Check(ResultModel):
    name: str
    status: Status
    detail: str
    platform: str | None = None
    handler: str | None = None
    interpreter: str | None = None
    flags: str | None = None

    @property
    def label(self) -> str:
        return self.name + (f" {self.platform}" if self.platform else "")


class DoctorReport(ResultModel):
    ok: bool
    checks: list[Check]


def doctor(
    platforms: Sequence[Platform | str],
    *,
    builder: str = "buildxpy",
    runner: Runner | None = None,
    binfmt_dir: Path = BINFMT_DIR,
    kernel: str | None = None,
    host: Platform | None = None,
) -> DoctorReport:
    runner = runner or Runner()
    wanted = parse_list(str(p) for p in platforms)
    checks = _docker_checks(runner)
    daemon_up = checks[-1].status == "ok"
    checks.append(_buildx_check(runner))
    checks.append(_binfmt_mounted(binfmt_dir))
    for target in needing_qemu(host or host_platform(), wanted):
        checks.append(emulator_check(target, binfmt_dir))
    checks.append(_kernel_check(kernel or _host.release()))
    if daemon_up and checks[2].status == "ok":
        checks.append(_builder_check(runner, builder))
    return DoctorReport(ok=all(c.status != "fail" for c in checks), checks=checks)


def _docker_checks(runner: Runner) -> list[Check]:
    try:
        result = runner.run("version", "--format", "{{json .}}", check=False, timeout=60)
    except BuildxpyError as exc:
        return [
            Check(name="docker", status="fail", detail=exc.message),
            Check(name="daemon", status="fail", detail="no docker CLI to reach it with"),
        ]
    version = _version(result.stdout)
    docker = Check(
        name="docker", status="ok", detail=f"docker CLI {version.client.version or 'unknown'}"
    )
    if result.exit_code == 0 and version.server is not None:
        return [
            docker,
            Check(name="daemon", status="ok", detail=f"Docker Engine {version.server.version}"),
        ]
    reason = _last_line(result.stderr) or "no answer"
    return [docker, Check(name="daemon", status="fail", detail=f"daemon not reachable: {reason}")]


def _buildx_check(runner: Runner) -> Check:
    try:
        result = runner.run("buildx", "version", check=False, timeout=60)
    except BuildxpyError as exc:
        return Check(name="buildx", status="fail", detail=exc.message)
    match = re.search(r"\sv?(\d+\.\d+\.\d+\S*)", result.stdout)
    if result.exit_code != 0 or not match:
        return Check(
            name="buildx",
            status="fail",
            detail="buildx plugin not found; install it (Debian: apt-get install docker-buildx)",
        )
    return Check(name="buildx", status="ok", detail=f"buildx {match[1]}")


def _binfmt_mounted(binfmt_dir: Path) -> Check:
    if (binfmt_dir / "status").exists():
        return Check(name="binfmt_misc", status="ok", detail=f"mounted at {binfmt_dir}")
    return Check(
        name="binfmt_misc",
        status="fail",
        detail=f"not mounted; run: mount -t binfmt_misc binfmt_misc {binfmt_dir}",
    )


def emulator_check(target: Platform, binfmt_dir: Path = BINFMT_DIR) -> Check:
    handler = find_handler(target, read_handlers(binfmt_dir))
    base = {"name": "emulator", "platform": str(target)}
    hint = f"run: buildxpy qemu install --platform {target}"
    if handler is None:
        return Check(**base, status="fail", detail=f"no qemu-{target.qemu_name} handler; {hint}")
    found = {"handler": handler.name, "interpreter": handler.interpreter, "flags": handler.flags}
    if not handler.enabled:
        return Check(**base, **found, status="fail", detail=f"{handler.name} is disabled; {hint}")
    if not handler.fix_binary:
        return Check(
            **base,
            **found,
            status="fail",
            detail=f"{handler.name} lacks the F (fix-binary) flag, so containers cannot use it; {hint}",
        )
    return Check(
        **base, **found, status="ok", detail=f"{handler.name} enabled, flags {handler.flags}"
    )


def _kernel_check(release: str) -> Check:
    match = re.match(r"(\d+)\.(\d+)", release)
    version = (int(match[1]), int(match[2])) if match else (0, 0)
    if version >= MIN_KERNEL:
        return Check(name="kernel", status="ok", detail=f"Linux {release}")
    return Check(
        name="kernel",
        status="fail",
        detail=f"Linux {release} is older than 4.8, which binfmt_misc's F flag needs",
    )


def _builder_check(runner: Runner, name: str) -> Check:
    try:
        builders = {b.name: b for b in list_builders(runner)}
    except BuildxpyError as exc:
        return Check(name="builder", status="warn", detail=f"cannot list builders: {exc}")
    builder = builders.get(name)
    if builder is None:
        return Check(
            name="builder",
            status="warn",
            detail=f"builder {name!r} does not exist yet; run: buildxpy builder setup",
        )
    states = sorted({n.status or "unknown" for n in builder.nodes}) or ["unknown"]
    return Check(
        name="builder",
        status="ok",
        detail=f"builder {name!r} ({builder.driver or '?'}): {', '.join(states)}",
    )


def _version(stdout: str) -> DockerVersion:
    """``docker version`` prints its JSON, and on a broken daemon sometimes warnings around it:
    the first line that reads as the version is taken."""
    for line in stdout.splitlines():
        if line.lstrip().startswith("{"):
            with contextlib.suppress(BuildxpyError):
                return load_json(DockerVersion, line, what="docker version")
    return DockerVersion()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
