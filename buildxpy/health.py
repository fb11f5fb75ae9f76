"""`buildxpy doctor`: is this machine ready to build for the requested platforms?"""

from __future__ import annotations

import json
import platform as _host
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from buildxpy.buildx import list_builders
from buildxpy.errors import BuildxpyError
from buildxpy.platforms import Platform, native
from buildxpy.runner import Runner
from buildxpy.settings import Settings

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
MIN_KERNEL = (4, 8)
Status = Literal["ok", "warn", "fail"]


class Check(BaseModel):
    name: str
    status: Status
    detail: str
    platform: str | None = None
    handler: str | None = None
    interpreter: str | None = None
    flags: str | None = None


class DoctorReport(BaseModel):
    ok: bool
    checks: list[Check]


class Handler(BaseModel):
    name: str
    enabled: bool
    interpreter: str
    flags: str

    @property
    def fix_binary(self) -> bool:
        return "F" in self.flags


def doctor(
    settings: Settings,
    platforms: Sequence[Platform] | None = None,
    runner: Runner | None = None,
    *,
    binfmt_dir: Path = BINFMT_DIR,
    kernel: str | None = None,
    host: Platform | None = None,
) -> DoctorReport:
    runner = runner or Runner()
    wanted = list(platforms or settings.platforms)
    checks = _docker_checks(runner)
    daemon_up = checks[-1].status == "ok"
    checks.append(_buildx_check(runner))
    checks.append(_binfmt_mounted(binfmt_dir))
    host = host or native()
    for target in wanted:
        if not needs_emulation(host, target):
            continue
        checks.append(emulator_check(target, binfmt_dir))
    checks.append(_kernel_check(kernel or _host.release()))
    if daemon_up and checks[2].status == "ok":
        checks.append(_builder_check(runner, settings.builder.name))
    return DoctorReport(ok=all(c.status != "fail" for c in checks), checks=checks)


def needs_emulation(host: Platform, target: Platform) -> bool:
    if target.os != "linux" or target.arch == host.arch:
        return False
    # An amd64 machine runs i386 binaries itself.
    return not (host.arch == "amd64" and target.arch == "386")


def _docker_checks(runner: Runner) -> list[Check]:
    try:
        result = runner.run("version", "--format", "{{json .}}", check=False, timeout=60)
    except BuildxpyError as exc:
        return [
            Check(name="docker", status="fail", detail=exc.message),
            Check(name="daemon", status="fail", detail="no docker CLI to reach it with"),
        ]
    data = _first_json(result.stdout)
    client = (data.get("Client") or {}).get("Version", "unknown")
    server = data.get("Server") or {}
    docker = Check(name="docker", status="ok", detail=f"docker CLI {client}")
    if result.exit_code == 0 and server:
        return [
            docker,
            Check(name="daemon", status="ok", detail=f"Docker Engine {server['Version']}"),
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


def read_handlers(binfmt_dir: Path = BINFMT_DIR) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    if not binfmt_dir.is_dir():
        return handlers
    for entry in sorted(binfmt_dir.iterdir()):
        if entry.name in ("register", "status"):
            continue
        try:
            text = entry.read_text()
        except OSError:
            continue
        lines = text.splitlines()
        fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
        handlers[entry.name] = Handler(
            name=entry.name,
            enabled=bool(lines) and lines[0].strip() == "enabled",
            interpreter=fields.get("interpreter", ""),
            flags=fields.get("flags:", "").strip(),
        )
    return handlers


def find_handler(target: Platform, handlers: dict[str, Handler]) -> Handler | None:
    qemu = target.qemu_name
    exact = handlers.get(f"qemu-{qemu}")
    if exact:
        return exact
    # Other installers name the handler differently but point it at the same emulator binary.
    pattern = re.compile(rf"qemu-{re.escape(qemu)}(-static)?(\b|[-_])")
    for handler in handlers.values():
        if pattern.search(Path(handler.interpreter).name) or pattern.search(handler.name):
            return handler
    return None


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
        builders = {b["Name"]: b for b in list_builders(runner)}
    except (BuildxpyError, json.JSONDecodeError, KeyError) as exc:
        return Check(name="builder", status="warn", detail=f"cannot list builders: {exc}")
    builder = builders.get(name)
    if builder is None:
        return Check(
            name="builder",
            status="warn",
            detail=f"builder {name!r} does not exist yet; run: buildxpy builder setup",
        )
    nodes = builder.get("Nodes") or []
    states = sorted({str(n.get("Status", "unknown")) for n in nodes}) or ["unknown"]
    return Check(
        name="builder",
        status="ok",
        detail=f"builder {name!r} ({builder.get('Driver', '?')}): {', '.join(states)}",
    )


def _first_json(text: str) -> dict[str, Any]:
    for line in text.splitlines():
        if line.lstrip().startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return {}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
