"""Following an image build from the engine's stream: step N/M and its instruction, bytes
downloaded (where the engine or apt says), elapsed time, and an estimate from the durations of
the previous build's steps (kept in the state dir). Pure bookkeeping; image.py does the I/O."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : ?(.*)$")
# apt's summary of a download, e.g. "Fetched 45.6 MB in 3s (14.2 MB/s)".
_APT_FETCHED = re.compile(r"^Fetched ([\d.,]+) ([kMG]?B) in ")
_UNITS = {"B": 1, "kB": 1000, "MB": 1000**2, "GB": 1000**3}
HISTORY_FILE = "build-steps.json"
TAIL_LINES = 40


@dataclass(frozen=True)
class BuildProgress:
    """Where a build is: `step` of `total` Dockerfile steps, and its newest output line."""

    step: int
    total: int
    line: str
    name: str = ""  # the step's instruction, e.g. "RUN apt-get update ..."
    downloaded: int = 0  # bytes, as far as the engine (base image pull) and apt report them
    elapsed: float = 0.0  # seconds since the build started
    remaining: float | None = None  # estimated seconds left; None without an earlier build
    cached: bool = False  # the current step came from the layer cache


@dataclass
class _Step:
    name: str
    seconds: float
    cached: bool


class BuildTracker:
    """Reads the engine's build stream chunk by chunk and knows where the build is."""

    def __init__(
        self, history: Sequence[Mapping[str, Any]] = (), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self.started = clock()
        self.history = [dict(h) for h in history]
        self.step = self.total = 0
        self.name = ""
        self.cached = False
        self.line = ""
        self.tail: list[str] = []
        self._step_started = self.started
        self._steps: dict[int, _Step] = {}
        self._pulled: dict[str, int] = {}
        self._fetched = 0

    def feed(self, chunk: Mapping[str, Any]) -> list[str]:
        """Take one decoded chunk of the stream; returns the output lines it held."""
        detail = chunk.get("progressDetail") or {}
        if chunk.get("id") and isinstance(detail, dict) and detail.get("current"):
            # A base image being pulled: the engine counts each layer's bytes.
            layer = str(chunk["id"])
            self._pulled[layer] = max(self._pulled.get(layer, 0), int(detail["current"]))
        text = chunk.get("stream") or ""
        if not text and chunk.get("status") and not detail:
            text = str(chunk["status"])
        lines = []
        for raw in str(text).splitlines():
            line = raw.rstrip()
            if not line:
                continue
            lines.append(line)
            self._line(line)
        return lines

    def _line(self, line: str) -> None:
        self.line = line
        self.tail.append(line)
        del self.tail[:-TAIL_LINES]
        m = _STEP_RE.match(line)
        if m:
            self._end_step()
            self.step, self.total, self.name = int(m.group(1)), int(m.group(2)), m.group(3)
            self.cached = False
            self._step_started = self._clock()
            return
        if line.strip() == "---> Using cache":
            self.cached = True
        m = _APT_FETCHED.match(line)
        if m:
            amount = float(m.group(1).replace(",", ""))
            self._fetched += int(amount * _UNITS[m.group(2)])

    def _end_step(self) -> None:
        if self.step:
            seconds = self._clock() - self._step_started
            self._steps[self.step] = _Step(self.name, seconds, self.cached)

    def finish(self) -> None:
        """The build succeeded: the last step ends now."""
        self._end_step()
        self.step = self.total

    @property
    def downloaded(self) -> int:
        return sum(self._pulled.values()) + self._fetched

    def remaining(self) -> float | None:
        """Seconds left, from the previous build's step durations; None without them (no
        earlier build, or a step still to come only ever came from the cache)."""
        if not self.total or not self.history:
            return None
        past = [h.get("seconds") for h in self.history]
        if len(past) != self.total:  # another Dockerfile: scale its whole duration
            if None in past:
                return None
            return max(0.0, sum(map(float, past)) * (1 - self.step / self.total))  # type: ignore[arg-type]
        ahead = past[self.step :]
        if None in ahead:
            return None
        in_step = self._clock() - self._step_started
        current = float(past[self.step - 1] or 0) if self.step else 0.0
        return max(0.0, current - in_step) + sum(map(float, ahead))  # type: ignore[arg-type]

    def progress(self) -> BuildProgress:
        return BuildProgress(
            step=self.step,
            total=self.total,
            line=self.line,
            name=self.name,
            downloaded=self.downloaded,
            elapsed=self._clock() - self.started,
            remaining=self.remaining(),
            cached=self.cached,
        )

    def new_history(self) -> list[dict[str, Any]]:
        """Each step's duration for the next estimate: a step that came from the cache keeps
        the duration it took when it last ran (the same instruction at the same place), else
        its duration is unknown (None): a cache hit says nothing about a real run."""
        out: list[dict[str, Any]] = []
        for n in range(1, self.total + 1):
            step = self._steps.get(n)
            if step is None:
                return []  # an incomplete build
            seconds: float | None = round(step.seconds, 1)
            if step.cached:
                old = self.history[n - 1] if n - 1 < len(self.history) else {}
                seconds = old.get("seconds") if old.get("name") == step.name[:200] else None
            out.append({"name": step.name[:200], "seconds": seconds})
        return out


def load_history(path: Path) -> list[dict[str, Any]]:
    """The previous build's step durations; anything unreadable is no history."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return []
    return [
        s
        for s in steps
        if isinstance(s, dict)
        and (s.get("seconds") is None or isinstance(s["seconds"], int | float))
    ]


def save_history(path: Path, steps: list[dict[str, Any]]) -> None:
    if not steps:
        return
    try:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"steps": steps}, indent=1))
        tmp.replace(path)
    except OSError:
        pass  # only an estimate is lost


def duration(seconds: float) -> str:
    """`42s`, `3m05s`, `1h02m`."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def size(n: int) -> str:
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} B"


def summary(p: BuildProgress, width: int = 60) -> str:
    """One line a person can follow, the figures first (a narrow terminal cuts the end):
    `step 5/12 · 1m12s · about 2m left · 48.0 MB downloaded · RUN npm install ...`."""
    parts = [f"step {p.step}/{p.total}"] if p.total else []
    parts.append(duration(p.elapsed))
    if p.remaining is not None:
        parts.append(f"about {duration(p.remaining)} left" if p.remaining >= 1 else "finishing")
    if p.downloaded:
        parts.append(f"{size(p.downloaded)} downloaded")
    if p.name:
        name = p.name if len(p.name) <= width else p.name[: width - 1] + "…"
        parts.append(name + (" (cached)" if p.cached else ""))
    return " · ".join(parts)


# -- a failed build: what to do ----------------------------------------------------------------

_TLS = re.compile(
    r"SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|"
    r"unable to get local issuer|certificate verify failed|self[- ]signed certificate|"
    r"Certificate verification failed|server certificate verification failed",
    re.IGNORECASE,
)
_NO_SPACE = re.compile(r"no space left on device", re.IGNORECASE)
_DNS = re.compile(
    r"Temporary failure resolving|Could not resolve|EAI_AGAIN|ENOTFOUND", re.IGNORECASE
)
_NET = re.compile(
    r"ETIMEDOUT|ECONNRESET|ECONNREFUSED|Connection timed out|Failed to fetch|Unable to connect",
    re.IGNORECASE,
)
_BASE = re.compile(r"pull access denied|manifest unknown|repository does not exist", re.I)


def failure_fix(text: str, trusted: str) -> str:
    """The fix for a failed build, from its error and last lines. `trusted` says which extra
    CAs the build had (the TLS advice depends on it)."""
    if _TLS.search(text):
        return (
            f"a proxy re-signs TLS with a CA this build did not trust (it trusted: {trusted}); "
            "give that CA with `claudex build --ca-cert FILE` (PEM, a bundle is fine)"
        )
    if _NO_SPACE.search(text):
        return "the engine ran out of disk: free some (`docker system prune`), then build again"
    if _BASE.search(text):
        return (
            "the base image debian:bookworm-slim cannot be pulled: `docker pull "
            "debian:bookworm-slim` (without a registry, scripts/ensure-engine.sh makes it)"
        )
    if _DNS.search(text):
        return (
            "the build cannot resolve names: check the engine's DNS and network (behind a "
            "proxy, give the Docker daemon HTTP_PROXY/HTTPS_PROXY), then build again"
        )
    if _NET.search(text):
        return "a download failed: check the network, then `claudex build` (done steps are cached)"
    return "read the lines above; `claudex build` resumes from the cached steps"
