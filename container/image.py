"""The `claudex` image: its build context (shipped in the package), its hash label, and builds."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container import labels
from container.build_progress import (
    HISTORY_FILE,
    BuildProgress,
    BuildTracker,
    failure_fix,
    load_history,
    save_history,
)
from container.engine import engine_errors
from container.errors import ImageError, UsageError
from container.version import __version__

__all__ = ["BuildProgress"]  # where the dashboard and the CLI import it from

if TYPE_CHECKING:
    import docker

CONTEXT_DIR = Path(__file__).with_name("context")
# CLAUDEX_IMAGE names another default, e.g. to try a changed build context beside the real one.
DEFAULT_IMAGE = os.environ.get("CLAUDEX_IMAGE") or "claudex"
EXTRA_CA = "com.claudex.extra-ca"
# Which CAs were added: a short digest of each certificate, in the order of the build.
EXTRA_CA_LIST = "com.claudex.extra-ca-list"
_PEM_RE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)
# Where distributions keep the bundle of CAs the host trusts (Debian/Ubuntu/Alpine/Arch first,
# then Fedora/RHEL, openSUSE, older RHEL, then the ca-trust extract, then BSD/macOS-style).
HOST_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
)


def _context_files() -> list[Path]:
    return sorted(
        p
        for p in CONTEXT_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.name != ".keep"
    )


def context_hash() -> str:
    """sha256 of the shipped context (paths, contents); the image is rebuilt when it changes."""
    h = hashlib.sha256()
    for path in _context_files():
        h.update(path.relative_to(CONTEXT_DIR).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def host_ca_bundle(
    environ: Mapping[str, str] | None = None, candidates: Iterable[str] = HOST_CA_BUNDLES
) -> Path | None:
    """The CA bundle this host trusts: SSL_CERT_FILE when set, else the system's bundle."""
    env = os.environ if environ is None else environ
    named = env.get("SSL_CERT_FILE")
    if named:
        if not os.path.isfile(named):
            raise UsageError(
                f"SSL_CERT_FILE={named} is not a file (image builds trust the host's CA bundle)",
                "point SSL_CERT_FILE at a PEM bundle, unset it, or build with --no-host-ca",
            )
        return Path(named)
    return next((Path(c) for c in candidates if os.path.isfile(c)), None)


def build_ca_files(ca_files: Iterable[str | Path] = (), host_ca: bool = True) -> list[str]:
    """The CA files a build trusts: the host's bundle first (unless `host_ca` is False), then
    the given ones; a file named twice (the host bundle given with --ca-cert too) counts once,
    so `--ca-cert <host bundle>` and no flag make the same build context."""
    host = host_ca_bundle() if host_ca else None
    files = [str(host)] if host else []
    files += [str(f) for f in ca_files]
    seen: set[str] = set()
    out = []
    for f in files:
        key = os.path.realpath(f)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def trusted_summary(ca_files: Iterable[str | Path] = (), host_ca: bool = True) -> str:
    """Which extra CAs a build gets, for messages: `the host's bundle X and 1 more file`."""
    try:
        host = host_ca_bundle() if host_ca else None
    except UsageError:
        host = None
    others = [f for f in build_ca_files(ca_files, host_ca=False) if str(f) != str(host)]
    files = f"{len(others)} file{'s' * (len(others) != 1)}"
    if host:
        return f"the host's bundle {host}" + (f" and {files}" if others else "")
    why = "--no-host-ca" if not host_ca else "no host bundle found"
    return f"{files} given ({why})" if others else f"none ({why})"


def split_certificates(paths: Iterable[str | Path]) -> list[bytes]:
    """Each PEM certificate found in the given files (a bundle gives many), each once."""
    certs: list[bytes] = []
    for raw in paths:
        path = Path(raw)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read CA certificate file {path}: {exc.strerror}") from None
        found = _PEM_RE.findall(data)
        if not found:
            raise UsageError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        certs.extend(found)
    return list(dict.fromkeys(certs))  # a CA both in the bundle and given again: added once


def ca_certs_list(certs: list[bytes]) -> str:
    return ",".join(hashlib.sha256(c).hexdigest()[:12] for c in certs)


def build_context_tar(certs: list[bytes]) -> io.BytesIO:
    """The context as an in-memory tar (a few KiB), with the extra CAs as one file each."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in _context_files():
            tar.add(path, arcname=path.relative_to(CONTEXT_DIR).as_posix(), recursive=False)
        for i, cert in enumerate(certs):
            info = tarfile.TarInfo(f"extra-ca/claudex-extra-{i:03d}.crt")
            body = cert + b"\n"
            info.size = len(body)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(body))
        info = tarfile.TarInfo("extra-ca")
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
    buf.seek(0)
    return buf


def ca_certs_digest(certs: list[bytes]) -> str:
    return hashlib.sha256(b"".join(certs)).hexdigest()[:16] if certs else ""


def up_to_date(
    client: docker.DockerClient,
    name: str,
    ca_files: Iterable[str | Path],
    *,
    host_ca: bool = True,
) -> bool:
    """The image exists, was built from this context, with these extra CAs (and the host's
    bundle unless `host_ca` is False): a CA added to or removed from them rebuilds."""
    state = image_state(client, name)
    certs = split_certificates(build_ca_files(ca_files, host_ca))
    return state.current and state.extra_ca == ca_certs_digest(certs)


def ca_change(state: ImageState, certs: list[bytes]) -> str | None:
    """How the CAs a build would trust now differ from the ones in the image (None: same)."""
    if state.extra_ca == ca_certs_digest(certs):
        return None
    now = ca_certs_list(certs).split(",") if certs else []
    if not state.extra_ca_list:  # built before the list was recorded
        return "its CAs differ from the ones this host trusts now"
    added = len(set(now) - set(state.extra_ca_list))
    removed = len(set(state.extra_ca_list) - set(now))
    return f"the CAs this host trusts changed since its build ({added} added, {removed} removed)"


@dataclass(frozen=True)
class ImageState:
    """What the engine holds under the image name, compared with this claudex."""

    exists: bool
    version: str = ""
    context: str = ""
    created: str = ""
    extra_ca: str = ""
    extra_ca_list: tuple[str, ...] = ()  # each added CA's short digest (older images: none)

    @property
    def current(self) -> bool:
        return self.exists and self.version == __version__ and self.context == context_hash()

    def stale_reason(self) -> str | None:
        if not self.exists or self.current:
            return None
        if self.version != __version__:
            return f"built by claudex {self.version or 'unknown'}, this is claudex {__version__}"
        return "its build context differs from this claudex's"


def image_state(client: docker.DockerClient, name: str = DEFAULT_IMAGE) -> ImageState:
    from docker.errors import ImageNotFound

    with engine_errors(f"inspecting image {name}"):
        try:
            attrs = client.api.inspect_image(name)
        except ImageNotFound:
            return ImageState(exists=False)
    lab = (attrs.get("Config") or {}).get("Labels") or {}
    return ImageState(
        exists=True,
        version=lab.get(labels.VERSION, ""),
        context=lab.get(labels.CONTEXT_HASH, ""),
        created=attrs.get("Created", ""),
        extra_ca=lab.get(EXTRA_CA, ""),
        extra_ca_list=tuple(d for d in lab.get(EXTRA_CA_LIST, "").split(",") if d),
    )


def build_image(
    client: docker.DockerClient,
    name: str = DEFAULT_IMAGE,
    *,
    ca_files: Iterable[str | Path] = (),
    host_ca: bool = True,
    no_cache: bool = False,
    refresh_agents: bool = False,
    on_progress: Callable[[BuildProgress], None] | None = None,
) -> str:
    """Build the image from the shipped context, streaming progress (also once a second while
    a step prints nothing); returns the image id. The CAs: the host's bundle unless `host_ca`
    is False, then `ca_files`."""
    from container.integrity import FILES_LABEL, image_manifest, manifest_label
    from container.state import state_dir

    ca_files = list(ca_files)
    certs = split_certificates(build_ca_files(ca_files, host_ca))
    context = build_context_tar(certs)
    ca_digest = ca_certs_digest(certs)
    build_args = {"AGENTS_REFRESH": str(int(time.time()))} if refresh_agents else {}
    image_labels = {
        labels.VERSION: __version__,
        labels.CONTEXT_HASH: context_hash(),
        labels.IMAGE_ROLE: "session",
        EXTRA_CA: ca_digest,
        EXTRA_CA_LIST: ca_certs_list(certs),
        # What claudex's own files in the image are; checked before every session start.
        FILES_LABEL: manifest_label(image_manifest(CONTEXT_DIR, _context_files())),
    }
    history_path = state_dir() / HISTORY_FILE
    tracker = BuildTracker(load_history(history_path))
    lock = threading.Lock()
    done = threading.Event()

    def report() -> None:
        if on_progress:
            with lock:  # one report at a time: the heartbeat's and the stream's
                on_progress(tracker.progress())

    def heartbeat() -> None:  # a silent step (npm install) still shows its time going by
        while not done.wait(1.0):
            try:
                report()
            except Exception:  # the display went away (a closed terminal): the build goes on
                return

    image_id = ""
    previous = _image_id(client, name)
    ticker = threading.Thread(target=heartbeat, name="build-progress", daemon=True)
    ticker.start()
    try:
        with engine_errors(f"building image {name}"):
            stream: Iterator[dict[str, Any]] = client.api.build(
                fileobj=context,
                custom_context=True,
                tag=name,
                labels=image_labels,
                buildargs=build_args,
                nocache=no_cache,
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
            )
            for chunk in stream:
                if "error" in chunk:
                    detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                    trusted = trusted_summary(ca_files, host_ca)
                    raise _failure(name, tracker, str(detail), trusted)
                if "aux" in chunk and isinstance(chunk["aux"], dict):
                    image_id = chunk["aux"].get("ID", image_id)
                with lock:
                    lines = tracker.feed(chunk)
                if lines:
                    report()
    finally:
        done.set()
        ticker.join()
    with lock:
        tracker.finish()
    report()
    save_history(history_path, tracker.new_history())
    if previous and image_id and previous != image_id:
        remove_superseded(client, previous)
    return image_id


def _failure(name: str, tracker: BuildTracker, detail: str, trusted: str) -> ImageError:
    """The failed step, its last lines, and the fix."""
    where = f" at step {tracker.step}/{tracker.total} ({tracker.name})" if tracker.total else ""
    last = "\n".join("  " + line for line in tracker.tail[-15:])
    text = detail + "\n" + "\n".join(tracker.tail)
    return ImageError(
        f"building image {name} failed{where}: {detail.strip()}\nits last lines:\n{last}",
        failure_fix(text, trusted),
    )


def _image_id(client: docker.DockerClient, name: str) -> str | None:
    try:
        return str(client.api.inspect_image(name)["Id"])
    except Exception:  # missing (or the engine hiccuped): nothing to clean up after the build
        return None


def remove_superseded(client: docker.DockerClient, image_id: str) -> bool:
    """Remove the image a rebuild replaced (each holds a gigabyte or two of its own layers).
    Kept while a session still uses it: the engine refuses, and that is fine."""
    from docker.errors import APIError

    try:
        client.api.remove_image(image_id)
    except APIError:
        return False
    return True


def ensure_image(
    client: docker.DockerClient,
    name: str = DEFAULT_IMAGE,
    *,
    ca_files: Iterable[str | Path] = (),
    host_ca: bool = True,
    on_progress: Callable[[BuildProgress], None] | None = None,
) -> ImageState:
    """Build the image when the engine lacks it; a stale one is reported by the caller, kept."""
    state = image_state(client, name)
    if not state.exists:
        build_image(client, name, ca_files=ca_files, host_ca=host_ca, on_progress=on_progress)
        state = image_state(client, name)
        if not state.exists:
            raise ImageError(f"image {name} is still missing after a successful build")
    return state
