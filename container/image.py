"""The `claudex` image: its build context (shipped in the package), its hash label, and builds."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container import labels
from container.engine import engine_errors
from container.errors import ImageError, UsageError
from container.version import __version__

if TYPE_CHECKING:
    import docker

CONTEXT_DIR = Path(__file__).with_name("context")
# CLAUDEX_IMAGE names another default, e.g. to try a changed build context beside the real one.
DEFAULT_IMAGE = os.environ.get("CLAUDEX_IMAGE") or "claudex"
EXTRA_CA = "com.claudex.extra-ca"
_PEM_RE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) :")


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


def split_certificates(paths: Iterable[str | Path]) -> list[bytes]:
    """Each PEM certificate found in the given files (a bundle gives many)."""
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
    return certs


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


def up_to_date(client: docker.DockerClient, name: str, ca_files: Iterable[str | Path]) -> bool:
    """The image exists, was built from this context, with these extra CAs."""
    state = image_state(client, name)
    return state.current and state.extra_ca == ca_certs_digest(split_certificates(ca_files))


@dataclass(frozen=True)
class ImageState:
    """What the engine holds under the image name, compared with this claudex."""

    exists: bool
    version: str = ""
    context: str = ""
    created: str = ""
    extra_ca: str = ""

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
    )


@dataclass(frozen=True)
class BuildProgress:
    """One step of a build: `step` of `total` Dockerfile steps, and a line of output."""

    step: int
    total: int
    line: str


def build_image(
    client: docker.DockerClient,
    name: str = DEFAULT_IMAGE,
    *,
    ca_files: Iterable[str | Path] = (),
    no_cache: bool = False,
    refresh_agents: bool = False,
    on_progress: Callable[[BuildProgress], None] | None = None,
) -> str:
    """Build the image from the shipped context, streaming progress; returns the image id."""
    from container.integrity import FILES_LABEL, image_manifest, manifest_label

    certs = split_certificates(ca_files)
    context = build_context_tar(certs)
    ca_digest = ca_certs_digest(certs)
    build_args = {"AGENTS_REFRESH": str(int(time.time()))} if refresh_agents else {}
    image_labels = {
        labels.VERSION: __version__,
        labels.CONTEXT_HASH: context_hash(),
        labels.IMAGE_ROLE: "session",
        EXTRA_CA: ca_digest,
        # What claudex's own files in the image are; checked before every session start.
        FILES_LABEL: manifest_label(image_manifest(CONTEXT_DIR, _context_files())),
    }
    step, total, image_id = 0, 0, ""
    tail: list[str] = []
    previous = _image_id(client, name)
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
                last = "\n".join(tail[-15:])
                raise ImageError(
                    f"building image {name} failed: {detail.strip()}\n{last}",
                    "check the output above; `claudex build --ca-cert FILE` if a proxy "
                    "intercepts TLS",
                )
            text = chunk.get("stream") or chunk.get("status") or ""
            if "aux" in chunk and isinstance(chunk["aux"], dict):
                image_id = chunk["aux"].get("ID", image_id)
            for line in text.splitlines():
                line = line.rstrip()
                if not line:
                    continue
                m = _STEP_RE.match(line)
                if m:
                    step, total = int(m.group(1)), int(m.group(2))
                tail.append(line)
                del tail[:-40]
                if on_progress:
                    on_progress(BuildProgress(step, total, line))
    if previous and image_id and previous != image_id:
        remove_superseded(client, previous)
    return image_id


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
    on_progress: Callable[[BuildProgress], None] | None = None,
) -> ImageState:
    """Build the image when the engine lacks it; a stale one is reported by the caller, kept."""
    state = image_state(client, name)
    if not state.exists:
        build_image(client, name, ca_files=ca_files, on_progress=on_progress)
        state = image_state(client, name)
        if not state.exists:
            raise ImageError(f"image {name} is still missing after a successful build")
    return state
