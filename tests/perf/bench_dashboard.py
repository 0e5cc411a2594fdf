"""The dashboard under load, on the real engine and image: a real `claudex dashboard` in a tmux
pane of 120x40 (as over SSH), beside a plain `docker exec -it ... tmux attach` pane of the same
size, in the same run, with sessions whose agents redraw like Claude Code (redraw_loop.py,
about 40 KB/s each, typed into the agent's tmux so the load runs where an agent's does).

Prints, each with its target (issue #15):
- the dashboard's CPU (% of one core, /proc/PID/stat over a window) with 3 and with 10
  sessions redrawing, their terminals opened once and then hidden (<= 3 %, <= 5 %); and with
  every session quiet, for reference. Hidden terminals are given a few seconds to detach
  first (the window starts once the agents' tmux list no client); one that did not is said;
- key latency p50/p90/p99 (send-keys of one character to `cat`, then capture-pane until it
  shows), dashboard against the plain pane, samples interleaved: idle, with 3 sessions
  redrawing (p90 <= 1.5x the plain pane's) and with 3 sessions flooding with `seq` (<= 2x);
- switching between two open sessions (Alt-Down/Up from inside the terminal, until the other
  session's 20-line marker is fully shown), 3 sessions redrawing hidden: to one hidden long
  enough to be detached, and back after a glance: p90 <= 50 ms;
- first full frame with 20 sessions (dashboard started until the list shows all 20 and the
  selected terminal is drawn; a 120x50 pane, so that 20 two-line rows fit): <= 1.0 s;
- the dashboard's RSS with 10 terminals opened.
Figures, not pass/fail: a figure over its target says OVER TARGET, the exit code stays 0.

Sessions are named cdash-RUN-NN (sorted before every `claudex*` name, so they lead the list;
a run removes only its own, also on Ctrl-C). Other sessions on the engine are listed by the
dashboard too and cost it some CPU: their count is printed.

Needs tmux and the docker CLI (the plain pane). About 3.5 minutes on 2 cores shared with other
runs (203 s, sessions' start 41 s of it); --quick (8 sessions, few samples, short windows) for
trying changes:

    .venv/bin/python tests/perf/bench_dashboard.py [--quick] [--sessions N] [--samples N]
        [--window SECONDS]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from container.engine import connect
from container.labels import AGENT_UID, SIGNATURE
from tests.integration.tmux_pane import Pane
from tests.perf import redraw_loop

REPO = Path(__file__).resolve().parents[2]
CPU_TARGETS = {3: 3.0, 10: 5.0}  # sessions redrawing -> % of one core
LOAD_RATIO, FLOOD_RATIO = 1.5, 2.0  # dashboard p90 / plain pane p90
SWITCH_TARGET_MS = 50.0
FIRST_FRAME_TARGET_S = 1.0
RSS_TERMINALS = 10
MARK_LINES = 20  # a switch marker: lines that all fit the agent's first 80x24 window
POLL = 0.001  # seconds between two captures of a timed wait
SETTLE = 5.0  # seconds a hidden terminal is given to detach before a figure is taken


def marker(tag: str) -> list[str]:
    return [f"SWITCH-{tag}-{i:02d} {tag * 60}" for i in range(1, MARK_LINES + 1)]


class Session:
    """One session of this run and what its agent's tmux is told to show."""

    def __init__(self, engine: docker.DockerClient, name: str) -> None:
        self.engine = engine
        self.name = name
        self.uid = ""

    def type(self, line: str) -> None:
        """Types LINE and Enter into the agent's tmux, as the agent."""
        self._tmux("send-keys", "-t", "agent", "-l", line, ";", "send-keys", "-t", "agent", "Enter")

    def interrupt(self) -> None:
        self._tmux("send-keys", "-t", "agent", "C-c")

    def clients(self) -> int:
        """tmux clients attached to the agent (the dashboard's terminal, while attached)."""
        return len(self._tmux("list-clients", "-t", "agent").splitlines())

    def at_prompt(self) -> bool:
        return self.screen().rstrip().endswith("$")

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "agent")

    def _tmux(self, *args: str) -> str:
        if not self.uid:
            labels = self.engine.api.inspect_container(self.name)["Config"]["Labels"]
            self.uid = labels.get(AGENT_UID) or "4242"
        result = self.engine.containers.get(self.name).exec_run(["tmux", *args], user=self.uid)
        if result.exit_code != 0:
            raise SystemExit(f"tmux {args[0]} in {self.name}: {result.output.decode()}")
        return str(result.output.decode())


def wait(
    what: str, check: Callable[[], bool], shown: Pane | Session | None = None, timeout: float = 30
) -> None:
    """Until `check()` holds (not timed: setting up); else stop, showing the screen."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            screen = shown.text() if isinstance(shown, Pane) else shown.screen() if shown else ""
            raise SystemExit(f"timed out after {timeout:g}s waiting for {what}:\n{screen}")
        time.sleep(0.02)


def timed(
    pane: Pane, keys: list[str], shown: Callable[[str], bool], timeout: float = 10.0
) -> float:
    """Seconds from sending KEYS to the pane showing what `shown` looks for (polled)."""
    start = time.perf_counter()
    pane.tmux("send-keys", "-t", pane.name, *keys)
    while True:
        if shown(pane.text()):
            return time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"not shown within {timeout:g}s after {keys}:\n{pane.text()}")
        time.sleep(POLL)


class Typist:
    """Types one character at a time into a `cat` and times each until the pane shows it.
    Each line starts with a tag of its own (`#3#`), so a line is never taken for another."""

    def __init__(self, pane: Pane) -> None:
        self.pane = pane
        self.line = 0
        self.typed = ""

    def _new_line(self) -> None:
        if self.line:
            self.pane.keys("C-u")  # the tty erases the line (echoke)
        self.line += 1
        self.typed = f"#{self.line}#"
        self.pane.keys("-l", self.typed)
        needle = self.typed
        wait(f"{needle!r} typed", lambda: needle in self.pane.text(), self.pane)

    def sample(self) -> float:
        if not self.line or len(self.typed) > 40:
            self._new_line()
        char = "abcdefghijklmnopqrstuvwxyz"[len(self.typed) % 26]
        self.typed += char
        needle = self.typed
        return timed(self.pane, ["-l", char], lambda screen: needle in screen)


def in_terminal(pane: Pane) -> bool:
    """The dashboard's keyboard is in a terminal: its footer shows the terminal's keys."""
    return "Leave terminal" in pane.text().rstrip().splitlines()[-1]


def percentile(values: list[float], q: int) -> float:
    """Nearest rank: with few samples p99 is the largest, said plainly rather than guessed."""
    ordered = sorted(values)
    rank = -(-q * len(ordered) // 100)  # ceil, in integers
    return ordered[max(rank, 1) - 1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_percent(pid: int, window: float) -> float:
    """The dashboard's CPU over WINDOW seconds, as % of one core (every thread counted)."""
    t0, c0 = time.monotonic(), cpu_seconds(pid)
    time.sleep(window)  # the measurement window itself, not a wait for something
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run = uuid.uuid4().hex[:6]
        self.prefix = f"cdash-{self.run}"
        self.engine = connect()
        self.root = Path(tempfile.mkdtemp(prefix="claudex-bench-dashboard-"))
        self.names = [f"{self.prefix}-{i:02d}" for i in range(args.sessions)]
        self.sessions = [Session(self.engine, n) for n in self.names]
        # Roles: 0 is typed into in the dashboard, 1 and 2 are the switch pair, then the
        # loaded ones; the last one is typed into in the plain pane.
        self.typed, self.switch_a, self.switch_b = self.sessions[:3]
        self.loaded = self.sessions[3 : min(3 + 10, len(self.sessions) - 1)]
        self.plain_target = self.sessions[-1]
        self.env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "XDG_STATE_HOME": str(self.root / "state"),
            "COLORTERM": "truecolor",  # as in a modern terminal: the dashboard draws truecolor
        }
        self.conf = self.root / "tmux.conf"
        self.conf.write_text(
            "set -g remain-on-exit on\n"  # a dashboard that crashed stays readable
            "set -g default-terminal tmux-256color\n"
        )
        self.at = 0  # the session whose terminal the dashboard shows
        self.spent: dict[str, float] = {}
        self.quiet_cpu: float | None = None
        self.opened: set[str] = set()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Where the run's time goes (CI runs every benchmark: this one must stay short)."""
        start = time.monotonic()
        try:
            yield
        finally:
            self.spent[name] = self.spent.get(name, 0.0) + time.monotonic() - start

    # -- the sessions ----------------------------------------------------------------------

    def start_sessions(self) -> None:
        def start(index: int) -> None:
            project = self.root / f"p{index:02d}"
            project.mkdir()
            shutil.copy(Path(redraw_loop.__file__), project / "redraw_loop.py")
            if os.geteuid() == 0:  # the agent never runs as root: it owns the project
                for path in (project, project / "redraw_loop.py"):
                    os.chown(path, 4242, 4242)
            cmd = [sys.executable, "-m", "claudex_tui.cli", str(project), "-d"]
            cmd += ["--agent", "shell", "--name", self.names[index]]
            proc = subprocess.run(
                cmd, env=self.env, capture_output=True, text=True, stdin=subprocess.DEVNULL
            )
            if proc.returncode != 0:
                raise SystemExit(f"starting {self.names[index]} failed:\n{proc.stderr}")

        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(start, range(len(self.names))))
        took = time.perf_counter() - t
        print(f"{len(self.names)} sessions started with the CLI (firewall, git) in {took:.0f}s")
        frames = [len(redraw_loop.frame(i, self.names[0])) for i in range(redraw_loop.FPS * 5)]
        rate = statistics.mean(frames) * redraw_loop.FPS / 1000
        print(
            f"load: redraw_loop.py, {redraw_loop.FPS} frames/s of {redraw_loop.LINES} lines, "
            f"{rate:.0f} KB/s per session"
        )

    def prepare_screens(self) -> None:
        """What each agent's terminal shows: a `cat` to type into, or a marker."""
        for s in (self.typed, self.plain_target):
            s.type(f"clear; echo TYPE-HERE-{s.name}; cat >/dev/null")
        for s, tag in ((self.switch_a, "A"), (self.switch_b, "B")):
            s.type(
                f"clear; for i in $(seq -w 1 {MARK_LINES}); do "
                f'echo "SWITCH-{tag}-$i {tag * 60}"; done; cat >/dev/null'
            )
        for s in [*self.sessions[:3], self.plain_target]:
            wait(f"{s.name}'s screen", partial(self.shown_inside, s), s)

    def shows(self, screen: str, s: Session) -> bool:
        """Does SCREEN show session S's terminal (all of it, for the switch markers)?"""
        if s is self.switch_a or s is self.switch_b:
            mine, other = ("A", "B") if s is self.switch_a else ("B", "A")
            return f"SWITCH-{other}-" not in screen and all(x in screen for x in marker(mine))
        if s is self.typed or s is self.plain_target:
            return f"TYPE-HERE-{s.name}" in screen and "SWITCH-" not in screen
        return f"{s.name} · esc to interrupt" in screen  # a loaded one: redraw_loop's frame

    def shown_inside(self, s: Session) -> bool:
        """Does the agent's own tmux show it?"""
        return self.shows(s.screen(), s)

    def shown_in(self, pane: Pane, s: Session) -> bool:
        return self.shows(pane.text(), s)

    def redraw(self, sessions: list[Session]) -> None:
        for s in sessions:
            s.type(f"clear; python3 redraw_loop.py {s.name}")
        for s in sessions:
            wait(f"{s.name} redrawing", partial(self.shown_inside, s), s)

    def flood(self, sessions: list[Session]) -> None:
        for s in sessions:
            s.type("clear; while :; do seq 1 1000000; done")

    def quiet(self, sessions: list[Session]) -> None:
        for s in sessions:
            s.interrupt()
        for s in sessions:
            wait(f"{s.name} at its prompt", s.at_prompt, s)

    def others(self) -> int:
        found = self.engine.api.containers(filters={"label": [SIGNATURE]})
        return sum(1 for c in found if not c["Names"][0].lstrip("/").startswith(self.prefix))

    # -- the panes -------------------------------------------------------------------------

    def pane(self, name: str, width: int, height: int, command: str) -> Pane:
        env = " ".join(
            f"{k}={shlex.quote(v)}"
            for k, v in self.env.items()
            if k.startswith(("XDG_", "CLAUDEX_", "DOCKER_", "COLORTERM"))
        )
        size = ["-x", str(width), "-y", str(height)]
        tmux = ["tmux", "-L", self.prefix, "-f", str(self.conf)]
        shell = f"exec env {env} {command}"
        subprocess.run(
            [*tmux, "new-session", "-d", "-s", name, *size, "-c", str(REPO), shell], check=True
        )
        return Pane(self.prefix, name)

    def dashboard(self, name: str, height: int, select: Session) -> Pane:
        command = f"{shlex.quote(sys.executable)} -m claudex_tui.cli dashboard --name {select.name}"
        return self.pane(name, 120, height, command)

    @staticmethod
    def pid(pane: Pane) -> int:
        return int(pane.tmux("display", "-p", "-t", pane.name, "#{pane_pid}"))

    @staticmethod
    def dead(pane: Pane) -> bool:
        return pane.tmux("display", "-p", "-t", pane.name, "#{pane_dead}").strip() == "1"

    def check_alive(self, pane: Pane) -> None:
        if self.dead(pane):
            raise SystemExit(f"the dashboard exited:\n{pane.text()}")

    def quit_dashboard(self, pane: Pane) -> None:
        pane.keys("q")
        with contextlib.suppress(SystemExit):
            wait("the dashboard to quit", lambda: self.dead(pane), pane, timeout=10)
        pane.tmux("kill-session", "-t", pane.name)

    def go(self, pane: Pane, index: int) -> None:
        """Alt-Down/Up from inside the terminal, one session at a time, each until shown."""
        while self.at != index:
            step = 1 if index > self.at else -1
            self.at += step
            target = self.sessions[self.at]
            pane.keys("M-Down" if step > 0 else "M-Up")
            wait(f"{target.name}'s terminal", partial(self.shown_in, pane, target), pane)
            self.opened.add(target.name)
            if len(self.opened) == RSS_TERMINALS and self.rss is None:
                self.rss = rss_mib(self.pid(pane))

    rss: float | None = None

    # -- figures ---------------------------------------------------------------------------

    def first_frame(self) -> None:
        """The dashboard started on the switch marker's session, in a 120x50 pane: until the
        list shows every session and the terminal the whole marker."""
        results: list[tuple[float, float, float]] = []
        for run in range(self.args.first_runs):
            start = time.perf_counter()
            pane = self.dashboard(f"first{run}", 50, self.switch_a)
            first = listed = drawn = 0.0
            while not (listed and drawn):
                screen = pane.text()
                now = time.perf_counter() - start
                first = first or (now if screen.strip() else 0.0)
                listed = listed or (now if all(n in screen for n in self.names) else 0.0)
                drawn = drawn or (now if self.shows(screen, self.switch_a) else 0.0)
                if now > 20 or self.dead(pane):
                    raise SystemExit(f"no full first frame within 20s:\n{screen}")
                time.sleep(POLL)
            results.append((first, listed, drawn))
            self.quit_dashboard(pane)
        print(f"first full frame, {len(self.names)} sessions, 120x50, {len(results)} runs:")
        columns = ("first output", "list filled", "terminal drawn")
        for index, label in enumerate(columns):
            values = [r[index] * 1000 for r in results]
            runs = ", ".join(f"{v:.0f}" for v in values)
            print(f"  {label:<16}{statistics.median(values):7.0f} ms  (runs: {runs})")
        full = statistics.median(max(r[1], r[2]) for r in results)
        ok = full <= FIRST_FRAME_TARGET_S
        target = f"(target <= {FIRST_FRAME_TARGET_S * 1000:.0f} ms)"
        print(f"  {'full frame':<16}{full * 1000:7.0f} ms  {target} {verdict(ok)}")

    def latency(self, label: str, dash: Typist, plain: Typist, target: float | None) -> None:
        wait("the terminal focused", partial(in_terminal, dash.pane), dash.pane, timeout=5)
        ours: list[float] = []
        floor: list[float] = []
        for i in range(self.args.samples):
            # Interleaved, the order alternating: both sides see the same moments of the load.
            for typist in (dash, plain) if i % 2 else (plain, dash):
                (ours if typist is dash else floor).append(typist.sample())
                time.sleep(0.03)  # a typist's pace between keys, not back-to-back keys
        self.check_alive(dash.pane)
        row = f"  {label:<30}"
        for values in (ours, floor):
            row += "".join(f"{percentile(values, q) * 1000:6.0f}" for q in (50, 90, 99)) + "  |"
        ratio = percentile(ours, 90) / percentile(floor, 90)
        row += f" {ratio:5.2f}"
        if target is not None:
            row += f" (target <= {target:g}) {verdict(ratio <= target)}"
        print(row, flush=True)

    def switching(self, pane: Pane, load: str) -> None:
        """Alt-Down from the first marker session to the second, hidden long enough to be
        detached (when the dashboard detaches hidden terminals), then Alt-Up back after a
        glance (still attached): each until the other's marker is fully shown and nothing of
        the first is left."""
        self.go(pane, 1)
        detached: list[float] = []
        glance: list[float] = []
        for _ in range(max(5, self.args.samples // 4)):
            self.settle([self.switch_b])
            detached.append(timed(pane, ["M-Down"], partial(self.shows, s=self.switch_b)))
            time.sleep(0.1)  # a glance at it
            glance.append(timed(pane, ["M-Up"], partial(self.shows, s=self.switch_a)))
        self.go(pane, 0)
        hidden = "hidden, detached" if self.detaches else "hidden (it stays attached)"
        print(f"switch between open sessions, {load}, ms:")
        for label, times in ((hidden, detached), ("back after a glance (0.1 s)", glance)):
            p = [percentile(times, q) * 1000 for q in (50, 90, 99)]
            ok = p[1] <= SWITCH_TARGET_MS
            print(
                f"  to one {label:<29} p50 {p[0]:4.0f}  p90 {p[1]:4.0f}  p99 {p[2]:4.0f}  "
                f"({len(times)} switches; target p90 <= {SWITCH_TARGET_MS:g}) {verdict(ok)}",
                flush=True,
            )

    def settle(self, hidden: list[Session]) -> int:
        """Until the hidden sessions' terminals have let go of their tmux (the dashboard
        detaches a terminal out of sight), at most SETTLE seconds: how many still hold on.
        A dashboard that never detaches is seen once, then not waited for again."""
        if self.detaches is False:
            return sum(1 for s in hidden if s.clients())
        deadline = time.monotonic() + SETTLE
        while (held := sum(1 for s in hidden if s.clients())) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.detaches is None:
            self.detaches = held == 0
        return held

    detaches: bool | None = None

    def cpu(self, pid: int, label: str, target: float | None, hidden: list[Session]) -> float:
        held = self.settle(hidden)
        value = cpu_percent(pid, self.args.window)
        tail = f"(target <= {target:g} %) {verdict(value <= target)}" if target else ""
        if self.quiet_cpu is not None:  # what the load adds, the other sessions' share aside
            tail = f"(+{value - self.quiet_cpu:.1f} over quiet) " + tail
        if held:
            tail += f" ({held} of {len(hidden)} hidden terminals still attached)"
        print(f"dashboard CPU, {label:<24}{value:6.1f} % of a core  {tail}", flush=True)
        return value

    def measure(self) -> None:
        self.prepare_screens()
        print(f"other claudex sessions on this engine (listed too): {self.others()}")
        with self.phase("first frame"):
            self.first_frame()

        dash = self.dashboard("dash", 40, self.typed)
        name = self.plain_target.name
        uid = self.plain_target.uid or "4242"
        attach = f"docker exec -it -u {uid} {name} tmux -f /etc/claudex/tmux.conf attach -t agent"
        plain = self.pane("plain", 120, 40, attach)
        wait("the plain pane", lambda: self.shows(plain.text(), self.plain_target), plain)
        wait("the dashboard", lambda: self.shows(dash.text(), self.typed), dash)
        pid = self.pid(dash)
        # Into the terminal. This run's sessions lead the list and are walked with Alt-Up/Down
        # among themselves: others that come and go are listed after them. (No filter: its
        # letters would be the list's keys, h, s, 1-9, if one came before the box had focus.)
        for _ in range(3):  # an Enter while the list is being filled can be lost
            dash.keys("Enter")
            with contextlib.suppress(SystemExit):
                wait("the terminal focused", partial(in_terminal, dash), dash, timeout=5)
                break
        else:
            raise SystemExit(f"Enter did not open the terminal:\n{dash.text()}")
        self.opened.add(self.typed.name)
        typist, reference = Typist(dash), Typist(plain)

        print(f"key latency, ms ({self.args.samples} samples each side, interleaved):")
        print(f"  {'':<30}{'dashboard':^18}  |{'plain docker exec':^18}  | p90")
        print(f"  {'':<30}" + f"{'p50':>6}{'p90':>6}{'p99':>6}  |" * 2 + " ratio")
        with self.phase("latency"):
            self.latency("idle", typist, reference, None)
        small = self.loaded[:3]
        self.redraw(small)
        with self.phase("opening terminals"):
            self.go(dash, 3 + len(small) - 1)  # each loaded terminal opened once...
            self.go(dash, 0)  # ...then hidden
            self.settle(small)
        with self.phase("latency"):
            self.latency(f"{len(small)} redrawing (hidden)", typist, reference, LOAD_RATIO)
            self.quiet(small)
            self.flood(small)
            self.latency(f"{len(small)} flooding with seq (hidden)", typist, reference, FLOOD_RATIO)
            self.quiet(small)

        with self.phase("cpu"):
            self.quiet_cpu = self.cpu(pid, "all quiet", None, small)
            self.redraw(small)
            self.cpu(pid, f"{len(small)} redrawing, hidden", CPU_TARGETS.get(len(small)), small)
        with self.phase("switching"):
            self.switching(dash, f"{len(small)} redrawing hidden")
        self.redraw(self.loaded[len(small) :])
        with self.phase("opening terminals"):
            self.go(dash, 3 + len(self.loaded) - 1)
            self.go(dash, 0)
        big = len(self.loaded)
        with self.phase("cpu"):
            self.cpu(pid, f"{big} redrawing, hidden", CPU_TARGETS.get(big), self.loaded)
        if self.rss is not None:
            print(f"dashboard RSS with {RSS_TERMINALS} terminals opened: {self.rss:.0f} MiB")
        print(f"dashboard RSS with {len(self.opened)} terminals opened: {rss_mib(pid):.0f} MiB")
        self.check_alive(dash)
        self.quit_dashboard(dash)

    def cleanup(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave sessions
        subprocess.run(["tmux", "-L", self.prefix, "kill-server"], capture_output=True, check=False)
        # tmux leaves its socket file behind.
        sockets = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (sockets / self.prefix).unlink(missing_ok=True)
        found = self.engine.api.containers(all=True, filters={"name": f"^/{self.prefix}-"})

        def remove(container: dict[str, str]) -> None:
            with contextlib.suppress(Exception):
                self.engine.api.remove_container(container["Id"], force=True, v=True)

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(remove, found))
        shutil.rmtree(self.root, ignore_errors=True)


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--", ".").strip() else ""
    return git("log", "-1", "--format=%h %s")[:72].strip() + dirty


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 sessions, few samples, short")
    parser.add_argument("--sessions", type=int, help="sessions to start (default 20)")
    parser.add_argument("--samples", type=int, help="keys per side and condition (default 40)")
    parser.add_argument("--window", type=float, help="seconds per CPU figure (default 8)")
    args = parser.parse_args()
    quick = {"sessions": 8, "samples": 15, "window": 3.0, "first_runs": 1}
    full = {"sessions": 20, "samples": 40, "window": 8.0, "first_runs": 3}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.sessions < 7:
        parser.error("--sessions: at least 7 (3 with roles, 3 loaded, 1 for the plain pane)")
    missing = [tool for tool in ("tmux", "docker") if shutil.which(tool) is None]
    if missing:
        parser.error(f"needs {' and '.join(missing)} (the panes, the plain docker exec pane)")
    # A kill (CI's timeout) cleans up as Ctrl-C does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(128 + signal.SIGTERM))
    bench = Bench(args)
    print(f"commit {commit()}; image {os.environ.get('CLAUDEX_IMAGE') or 'claudex'}")
    start = time.monotonic()
    try:
        with bench.phase("sessions"):
            bench.start_sessions()
        bench.measure()
    except KeyboardInterrupt:
        print("\ninterrupted: removing this run's sessions", file=sys.stderr)
        return 130
    finally:
        with bench.phase("cleanup"):
            bench.cleanup()
    spent = " · ".join(f"{name} {took:.0f}s" for name, took in bench.spent.items())
    print(f"whole benchmark: {time.monotonic() - start:.0f}s ({spent})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
