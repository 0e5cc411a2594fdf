"""What `claudex doctor` checks on the engine and the host: each check gives one result line
(ok / warning / failed / skipped) with the fix. No Textual, no claudex_tui: the command in
claudex_tui/commands/doctor.py orders the checks and prints them."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from container.agent_home import (
    CLAUDE_CONFIG,
    CLAUDE_CREDENTIALS,
    CODEX_AUTH,
    COPILOT_CONFIG,
    GEMINI_CREDENTIALS,
    OPENCODE_AUTH,
    login_files,
)
from container.engine import engine_errors
from container.errors import ClaudexError
from container.naming import DEFAULT_PREFIX

if TYPE_CHECKING:
    import docker

    from container.engines import Engine

Status = Literal["ok", "warning", "failed", "skipped"]
LOW_DISK = 5 << 30  # below this, an image build or a few sessions may run out of room
PROBE_TIMEOUT = 20  # seconds the firewall probe may take (it takes well under one)
DNS_TIMEOUT = 3.0  # seconds for all default names together (they resolve concurrently)
ENGINE_TIMEOUT = 10  # seconds an engine may take to answer (a busy one is slow, not down)


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it went, and what to do about it."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def skipped(name: str, why: str) -> Check:
    return Check(name, "skipped", f"skipped: {why}")


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.1f} GiB"


# -- the engine ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineFacts:
    """What the engine says about itself (docker info and version)."""

    version: str
    api_version: str
    rootless: bool
    storage_driver: str
    cgroup_version: str
    cgroup_driver: str
    data_root: str


def engine_facts(client: docker.DockerClient) -> EngineFacts:
    with engine_errors("asking the engine about itself"):
        version = client.version()
        info = client.info()
    security = info.get("SecurityOptions") or []
    return EngineFacts(
        version=str(version.get("Version", "")),
        api_version=str(version.get("ApiVersion", "")),
        rootless=any("name=rootless" in str(opt) for opt in security),
        storage_driver=str(info.get("Driver", "")),
        cgroup_version=str(info.get("CgroupVersion", "")),
        cgroup_driver=str(info.get("CgroupDriver", "")),
        data_root=str(info.get("DockerRootDir", "")),
    )


def check_engine(
    where: str, connect: Callable[[int], docker.DockerClient]
) -> tuple[Check, docker.DockerClient | None, EngineFacts | None]:
    """Reachable, and what it runs. `connect(timeout)` gives a client or raises ClaudexError."""
    try:
        client = connect(ENGINE_TIMEOUT)
        facts = engine_facts(client)
    except ClaudexError as exc:
        fix = exc.hint or "start the Docker Engine, or point DOCKER_HOST / --engine at one"
        detail = exc.message if where in exc.message else f"{where}: {exc.message}"
        return Check("engine", "failed", detail, fix), None, None
    except Exception as exc:  # a broken engine answers in many ways; all mean "unreachable"
        return (
            Check(
                "engine",
                "failed",
                f"{where}: not reachable ({type(exc).__name__}: {exc})",
                "start the Docker Engine, or point DOCKER_HOST / --engine at one",
            ),
            None,
            None,
        )
    mode = "rootless" if facts.rootless else "rootful"
    cgroup = f"cgroup v{facts.cgroup_version or '?'} ({facts.cgroup_driver or '?'})"
    detail = (
        f"{where}: Docker {facts.version} (API {facts.api_version}), {mode}, "
        f"storage {facts.storage_driver}, {cgroup}"
    )
    return Check("engine", "ok", detail), client, facts


# -- the image ----------------------------------------------------------------------------------


def check_image(
    client: docker.DockerClient, name: str, ca_files: Iterable[str] | None = None
) -> tuple[Check, bool]:
    """Present, built from this claudex's context (and, given `ca_files`, with the CAs a build
    would trust now: the host's bundle and those files), and its size; (line, usable)."""
    from docker.errors import ImageNotFound

    from container.image import build_ca_files, ca_change, image_state, split_certificates

    try:
        state = image_state(client, name)
        size = 0
        if state.exists:
            with engine_errors(f"inspecting image {name}"):
                try:
                    size = int(client.api.inspect_image(name).get("Size") or 0)
                except ImageNotFound:  # removed between the two questions
                    state = image_state(client, name)
    except ClaudexError as exc:
        return Check("image", "failed", f"{name}: {exc.message}", "see the engine line"), False
    if not state.exists:
        return (
            Check("image", "failed", f"{name}: not on the engine", "run `claudex build`"),
            False,
        )
    reason = state.stale_reason()
    if reason:
        return (
            Check(
                "image",
                "warning",
                f"{name}: present ({_gib(size)}) but not current: {reason}",
                "run `claudex build` (sessions keep working on the old image meanwhile)",
            ),
            True,
        )
    if ca_files is not None:
        try:
            changed = ca_change(state, split_certificates(build_ca_files(ca_files)))
        except ClaudexError as exc:  # an unreadable CA file: the build would say the same
            return Check("image", "warning", f"{name}: {exc.message}", exc.hint or ""), True
        if changed:
            return (
                Check(
                    "image",
                    "warning",
                    f"{name}: present ({_gib(size)}) but {changed}",
                    "run `claudex build` (a proxy's new CA is trusted only after it)",
                ),
                True,
            )
    return Check("image", "ok", f"{name}: present and current ({_gib(size)})"), True


# -- the firewall's needs -----------------------------------------------------------------------

# Run as root with only the capabilities a session's root has for its firewall. Each step
# prints one `FAIL what: why` line on failure; `OK` when everything worked.
_PROBE = r"""
cap=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
[ $(( (0x$cap >> 12) & 1 )) = 1 ] || { echo "FAIL NET_ADMIN: not granted (CapEff $cap)"; exit 1; }
for t in iptables ip6tables; do
  out=$($t -w -N cxdoctor 2>&1 && $t -w -A cxdoctor -j RETURN 2>&1 && $t -w -F cxdoctor 2>&1 \
        && $t -w -X cxdoctor 2>&1 && $t -w -S OUTPUT 2>&1) || { echo "FAIL $t: $out"; exit 1; }
done
out=$(ipset create cxdoctor hash:ip family inet 2>&1 && ipset add cxdoctor 192.0.2.1 2>&1 \
      && iptables -w -A OUTPUT -m set --match-set cxdoctor dst -j ACCEPT 2>&1 \
      && iptables -w -D OUTPUT -m set --match-set cxdoctor dst -j ACCEPT 2>&1 \
      && ipset destroy cxdoctor 2>&1) || { echo "FAIL ipset: $out"; exit 1; }
echo OK
"""


def probe_name() -> str:
    prefix = os.environ.get("CLAUDEX_NAME_PREFIX") or DEFAULT_PREFIX
    return f"{prefix}-doctor-{uuid.uuid4().hex[:12]}"


SESSION_FIREWALL_CAPS = ("NET_ADMIN", "NET_RAW")  # what a session's root gets for its firewall


def check_firewall(
    client: docker.DockerClient, image: str, caps: Iterable[str] = SESSION_FIREWALL_CAPS
) -> Check:
    """iptables, ip6tables and ipset work in a throw-away container of the image, with
    NET_ADMIN granted the way sessions get it; the container is always removed."""
    name = probe_name()
    api = client.api
    fix = "the engine must grant NET_ADMIN and have iptables/ip6tables/ipset kernel support"
    container_id = None
    try:
        with engine_errors("running the firewall probe"):
            host_config = api.create_host_config(
                cap_drop=["ALL"],
                cap_add=list(caps),
                security_opt=["no-new-privileges:true"],
                network_mode="none",  # its own namespace; the probe needs no network
            )
            container_id = api.create_container(
                image,
                command=["-c", _PROBE],
                entrypoint=["/bin/sh"],
                user="0:0",
                name=name,
                host_config=host_config,
                labels={"com.claudex.doctor": "probe"},
            )["Id"]
            api.start(container_id)
            try:
                result = api.wait(container_id, timeout=PROBE_TIMEOUT)
            except Exception:  # requests' read timeout: the probe hung
                return Check(
                    "firewall", "failed", f"the probe did not finish in {PROBE_TIMEOUT}s", fix
                )
            logs = api.logs(container_id, stdout=True, stderr=True).decode(errors="replace")
    except ClaudexError as exc:
        return Check("firewall", "failed", f"the probe could not run: {exc.message}", fix)
    finally:
        if container_id is not None:
            # Already gone is fine; nothing else to do about a failure here.
            with contextlib.suppress(Exception):
                api.remove_container(container_id, force=True, v=True)
    last = logs.strip().splitlines()[-1] if logs.strip() else ""
    if result.get("StatusCode") == 0 and last == "OK":
        return Check("firewall", "ok", "iptables, ip6tables and ipset work with NET_ADMIN")
    failure = next((ln[5:] for ln in logs.splitlines() if ln.startswith("FAIL ")), last)
    if failure.startswith("ip6tables"):
        fix = "load the ip6table_filter kernel module on the engine's host (or enable IPv6)"
    elif failure.startswith("ipset"):
        fix = "load the ip_set and xt_set kernel modules on the engine's host"
    return Check("firewall", "failed", (failure or "the probe failed")[:300], fix)


# -- DNS ----------------------------------------------------------------------------------------


def _resolves(name: str) -> bool:
    try:
        return bool(socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM))
    except (OSError, UnicodeError):
        return False


def check_dns(names: Iterable[str]) -> Check:
    """The default allowed names resolve, asked from the host (sessions use the same resolver
    through the engine), all at once with one deadline."""
    names = list(names)
    pool = ThreadPoolExecutor(max_workers=min(16, max(1, len(names))), thread_name_prefix="dns")
    futures = {name: pool.submit(_resolves, name) for name in names}
    wait(futures.values(), timeout=DNS_TIMEOUT)
    pool.shutdown(wait=False, cancel_futures=True)  # a hung lookup must not hold the report
    failed = [n for n, f in futures.items() if not (f.done() and f.result())]
    if not failed:
        return Check("dns", "ok", f"all {len(names)} default allowed names resolve (from the host)")
    shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
    return Check(
        "dns",
        "warning",
        f"{len(failed)} of {len(names)} default allowed names do not resolve from the host: "
        f"{shown}",
        "check the host's resolver (/etc/resolv.conf); sessions usually resolve through the "
        "same one (via the engine), so agents cannot reach names that do not resolve",
    )


# -- logins -------------------------------------------------------------------------------------


def check_logins(home: Path) -> Check:
    """The login files a new session's home would get (container.agent_home finds them)."""
    files, warnings = login_files(home)
    found = {f.path for f in files}
    have = []
    if CLAUDE_CREDENTIALS in found or CLAUDE_CONFIG in found:
        have.append("Claude Code")
    if CODEX_AUTH in found:
        have.append("Codex")
    if GEMINI_CREDENTIALS in found:
        have.append("Gemini CLI")
    if COPILOT_CONFIG in found:
        have.append("Copilot CLI")
    if OPENCODE_AUTH in found:
        have.append("opencode")
    if warnings:
        return Check(
            "logins",
            "warning",
            "; ".join(warnings),
            "fix or remove that file (sessions start without it; log in inside the session)",
        )
    if not have:
        return Check(
            "logins",
            "ok",
            f"no agent login in {home} (each agent asks you to log in inside its session)",
        )
    return Check("logins", "ok", f"copied into new sessions: {', '.join(have)} (from {home})")


# -- disk space ---------------------------------------------------------------------------------


def check_disk(name: str, path: str, what: str) -> Check:
    try:
        free = shutil.disk_usage(path).free
    except OSError as exc:
        return Check(name, "warning", f"{what} {path}: cannot see its free space ({exc.strerror})")
    if free < LOW_DISK:
        return Check(
            name,
            "warning",
            f"{what} {path}: only {_gib(free)} free",
            "free some space there (`docker system prune` removes unused images and containers)"
            if name == "disk-engine"
            else "free some space there (old audit bundles can go)",
        )
    return Check(name, "ok", f"{what} {path}: {_gib(free)} free")


def check_engine_disk(facts: EngineFacts | None, remote: bool) -> Check:
    if facts is None:
        return skipped("disk-engine", "the engine did not answer")
    if remote:
        return skipped("disk-engine", "the engine runs on another machine")
    if not facts.data_root:
        return skipped("disk-engine", "the engine does not say where its data is")
    return check_disk("disk-engine", facts.data_root, "engine data root")


# -- other engines ------------------------------------------------------------------------------


def _other_engine(engine: Engine) -> Check:
    from container.engines import connect_engine

    name = f"engine {engine.name}"
    try:
        facts = engine_facts(connect_engine(engine, timeout=ENGINE_TIMEOUT))
    except ClaudexError as exc:
        return Check(name, "failed", f"{engine.host}: {exc.message}", exc.hint or "")
    except Exception as exc:  # anything a broken engine raises is still "unreachable"
        return Check(
            name,
            "failed",
            f"{engine.host}: not reachable ({type(exc).__name__})",
            "start it, or fix or remove its entry ([engines] in the config, or its context)",
        )
    return Check(name, "ok", f"{engine.host}: Docker {facts.version} (API {facts.api_version})")


def check_engines(configured: Mapping[str, Any]) -> list[Check]:
    """Each engine besides the default one (config's [engines], docker contexts), concurrently."""
    from container.engines import DEFAULT_ENGINE, available_engines

    others = [e for e in available_engines(configured) if e.name != DEFAULT_ENGINE]
    if not others:
        return [Check("engines", "ok", "no other engine configured")]
    with ThreadPoolExecutor(max_workers=len(others), thread_name_prefix="doctor") as pool:
        return list(pool.map(_other_engine, others))
