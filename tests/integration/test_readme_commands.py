"""Every command README.md shows, run as a user would: typed into a shell in tmux (a real
terminal, so the commands that ask or attach do), on the real engine and image, in a home of
the test's own where the README's example paths exist. A command the test does not know
fails it: the README and the product cannot drift apart silently."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from container import labels
from container.naming import session_name
from tests.conftest import HOST_CA
from tests.integration.conftest import REPO, exec_in

README = REPO / "README.md"
PROMPT = "readme-host$ "
AGENT = "4242"
# Shown in the README but not run here, and why.
NOT_RUN = {
    "bash scripts/install.sh": "installs claudex for this machine's user; the test runs this "
    "checkout's claudex instead",
    "bash scripts/test.sh": "runs the whole test suite, this test included",
}
SUBCOMMANDS = {
    "build",
    "update",
    "list",
    "ls",
    "destroy",
    "push",
    "pull",
    "shell",
    "attach",
    "dashboard",
    "firewall",
    "diff",
    "checkpoint",
    "log",
    "revert",
    "doctor",
}


def readme_commands() -> list[list[str]]:
    """The commands of README.md's ```sh blocks, split on `;`, comments dropped."""
    commands: list[list[str]] = []
    for block in re.findall(r"^```sh\n(.*?)^```", README.read_text(), re.S | re.M):
        for line in block.splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";")
            lexer.whitespace_split = True
            command: list[str] = []
            for token in lexer:
                if token == ";":
                    commands.append(command)
                    command = []
                else:
                    command.append(token)
            if command:
                commands.append(command)
    return [c for c in commands if c]


class Pane:
    """A bash in a tmux window of 120x40: what a user over SSH types into. On a tmux server
    of its own (other tests' servers come and go)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def tmux(self, *args: str) -> str:
        res = subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True)
        assert res.returncode == 0, f"tmux {' '.join(args)}: {res.stderr}"
        return res.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def text(self) -> str:
        """The screen and what scrolled off it, wrapped lines joined."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-2000", "-t", self.name)

    def stacks(self) -> str:
        """The screen after the command running in the pane was made to print every thread's
        stack (PYTHONFAULTHANDLER and SIGABRT): why it hangs."""
        shell = self.tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").strip()
        children = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True)
        for pid in children.stdout.split():
            os.kill(int(pid), signal.SIGABRT)
        with contextlib.suppress(AssertionError):
            self.wait_for("most recent call first", timeout=10)
        return self.text()

    def wait_until(self, test: Callable[[str], bool], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if test(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{what!r} never appeared; the pane shows:\n{self.text()}")

    def wait_for(self, needle: str, timeout: float = 60) -> str:
        return self.wait_until(lambda screen: needle in screen, needle, timeout)

    def clear(self) -> None:
        # Ctrl-C drops keys of the last command's left on the line; bash shows ^C when it is
        # ready again (keys typed before that are lost).
        interrupts = self.text().count("^C")
        self.keys("C-c")
        self.wait_until(lambda s: s.count("^C") > interrupts, "bash taking Ctrl-C", 10)
        self.keys("clear", "Enter")

        def cleared(screen: str) -> bool:
            # Again each time: `clear` may push the screen into the history as it runs.
            self.tmux("clear-history", "-t", self.name)
            return screen.strip() == PROMPT.strip()

        self.wait_until(cleared, "a cleared pane", 10)


# Not anchored at the start: keys that reached the shell as the command ended echo before it
# (the command line itself shows `EXIT=$?`, never digits).
EXIT = re.compile(r"EXIT=(\d+)$", re.M)


def exit_code(screen: str) -> int | None:
    found = EXIT.search(screen)
    return int(found.group(1)) if found else None


@dataclass
class Run:
    """What the README's examples stand for here."""

    home: Path
    app: Path  # ~/src/app: the project, the current directory
    specs: Path  # ~/src/specs
    name: str  # NAME: the session for ~/src/app
    engine: docker.DockerClient
    pane: Pane
    ran: list[str] = field(default_factory=list)

    def agent(self, cmd: str) -> str:
        code, out = exec_in(self.engine, self.name, cmd, user=AGENT)
        assert code == 0, out
        return out


def _substitute(command: list[str], run: Run) -> list[str]:
    words = {"[DIRS...]": ".", "DIRS": ".", "[NAME]": run.name, "NAME": run.name}
    return [words.get(word, word) for word in command]


# -- what each command needs around it: setup before, keys while it runs, checks after ---------


def _start(run: Run, cmd: list[str], screen: Callable[[], str]) -> None:
    if "--detach" in cmd or "-d" in cmd:
        return
    # The dashboard opens on the session's terminal: leave it (Ctrl-]) and quit (q), again
    # until it is gone (keys sent while it draws its first frame may be taken by the agent).
    run.pane.wait_until(
        lambda s: ("Changes" in s and "Details" in s) or exit_code(s) is not None,
        "the dashboard",
        120,
    )
    deadline = time.monotonic() + 120
    while exit_code(screen()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"the dashboard did not quit:\n{run.pane.stacks()}")
        run.pane.keys("C-]")
        run.pane.keys("q")
        with contextlib.suppress(AssertionError):
            run.pane.wait_until(lambda s: exit_code(s) is not None, "the dashboard quit", 15)


def _attach(run: Run, cmd: list[str], screen: Callable[[], str]) -> None:
    run.pane.wait_for("agent@app:/workspace/app$", timeout=90)
    run.pane.keys("echo readme-$((6*7))", "Enter")
    run.pane.wait_for("readme-42")
    run.pane.keys("C-]")
    shown = run.pane.wait_for("detached from")
    assert f"`claudex attach {run.name}`" in shown, shown


def _shell(run: Run, cmd: list[str], screen: Callable[[], str]) -> None:
    run.pane.wait_for("agent@", timeout=90)
    run.pane.keys("echo plain-$((6*7)); exit", "Enter")
    run.pane.wait_for("plain-42")


def _answer_yes(question: str) -> Callable[[Run, list[str], Callable[[], str]], None]:
    def answer(run: Run, cmd: list[str], screen: Callable[[], str]) -> None:
        run.pane.wait_for(question)
        run.pane.keys("y", "Enter")

    return answer


def _no_keys(run: Run, cmd: list[str], screen: Callable[[], str]) -> None:
    pass


@dataclass
class Step:
    before: Callable[[Run], object] = lambda run: None
    keys: Callable[[Run, list[str], Callable[[], str]], None] = _no_keys
    check: Callable[[Run, str], None] = lambda run, out: None


def _sessions_of(run: Run) -> list[str]:
    found = run.engine.api.containers(all=True, filters={"label": [labels.SIGNATURE]})
    return [c["Names"][0].lstrip("/") for c in found if str(run.home) in c["Labels"][labels.MOUNTS]]


def _check_start(run: Run, out: str) -> None:
    assert run.name in _sessions_of(run)  # made by the first, reused by `claudex . --detach`


def _change_app(text: str) -> Callable[[Run], None]:
    def change(run: Run) -> None:
        run.agent(f"printf '{text}\\n' >> /workspace/app/src/app.py")

    return change


def _check_pull(run: Run, out: str) -> None:
    assert "pulled" in out
    assert (run.app / "out" / "build.log").read_text() == "build ok\n"


STEPS: dict[str, Step] = {
    "start": Step(keys=_start, check=_check_start),
    "list": Step(check=lambda run, out: _assert_in(run.name, out)),
    "attach": Step(keys=_attach),
    "shell": Step(keys=_shell),
    "firewall status": Step(check=lambda run, out: _assert_in("enforcing", out)),
    "firewall allow": Step(check=lambda run, out: _assert_in("now allowed: example.com", out)),
    "diff": Step(
        before=_change_app("print(42)"), check=lambda run, out: _assert_in("src/app.py", out)
    ),
    "checkpoint": Step(check=lambda run, out: _assert_in("recorded in " + run.name, out)),
    "log": Step(check=lambda run, out: _assert_in("tests pass", out)),
    "revert": Step(
        before=_change_app("oops"),
        keys=_answer_yes("Revert 1 file(s)?"),
        check=lambda run, out: _check_reverted(run, out),
    ),
    "push": Step(
        before=lambda run: (run.app / "notes.md").write_text("notes\n"),
        check=lambda run, out: _assert_in("notes", run.agent("cat /workspace/notes.md")),
    ),
    "pull": Step(
        before=lambda run: run.agent("echo 'build ok' > /workspace/app/build.log"),
        check=_check_pull,
    ),
    "destroy": Step(
        keys=_answer_yes("Destroy 1 session(s)?"),
        check=lambda run, out: _assert_in(f"destroyed {run.name}", out),
    ),
    "build": Step(check=lambda run, out: _assert_in("up to date", out)),
    "doctor": Step(check=lambda run, out: _assert_in("checks in", out)),
}


def _assert_in(needle: str, out: str) -> None:
    assert needle in out, out


def _check_reverted(run: Run, out: str) -> None:
    assert "restored" in out, out
    assert (run.app / "src" / "app.py").read_text() == "print('app')\nprint(42)\n"


def _typed(command: list[str]) -> str:
    """As a user types it: `~/src/app` left for the shell to expand, the rest quoted."""
    return " ".join(w if re.fullmatch(r"~/[\w/.-]*", w) else shlex.quote(w) for w in command)


def _step_key(command: list[str]) -> str:
    assert command[0] == "claudex", f"README shows a command this test cannot run: {command}"
    sub = command[1] if len(command) > 1 else ""
    if sub not in SUBCOMMANDS:
        return "start"
    if sub == "firewall":
        return f"firewall {command[2]}"
    return sub


@pytest.fixture
def readme_run(tmp_path: Path, engine: docker.DockerClient, image: str) -> Iterator[Run]:
    home = tmp_path / "home"
    app, specs = home / "src" / "app", home / "src" / "specs"
    (app / "src").mkdir(parents=True)
    specs.mkdir(parents=True)
    (app / "src" / "app.py").write_text("print('app')\n")
    (specs / "api.md").write_text("the spec\n")
    for path in (home / "src", app, app / "src", app / "src" / "app.py", specs, specs / "api.md"):
        os.chown(path, int(AGENT), int(AGENT))
    config = tmp_path / "config" / "claudex"
    config.mkdir(parents=True)
    ca = f"ca_certs = [{HOST_CA!r}]\n" if os.path.exists(HOST_CA) else ""
    # The agent is a shell (the README's default is claude, which wants a login): its prompt
    # shows when attach and shell work. The image is the one the tests built.
    (config / "config.toml").write_text(f'agent = "shell"\nimage = "{image}"\n{ca}')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "claudex"  # this checkout's claudex, whatever the current directory
    shim.write_text(
        f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(REPO))} exec {shlex.quote(sys.executable)} "
        '-m claudex_tui.cli "$@"\n'
    )
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k.startswith(("CLAUDEX_", "DOCKER_"))}
    env |= {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PS1": PROMPT,
        "PYTHONFAULTHANDLER": "1",
    }
    tmux = f"claudextest-readme-{uuid.uuid4().hex[:8]}"
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    subprocess.run(
        [
            "tmux",
            "-L",
            tmux,
            "new-session",
            "-d",
            "-s",
            tmux,
            "-x",
            "120",
            "-y",
            "40",
            "-c",
            str(app),
            f"env {assignments} bash --norc --noprofile",
        ],
        check=True,
    )
    name = session_name([os.path.realpath(app)])
    run = Run(home, app, specs, name, engine, Pane(tmux))
    # Keys before bash is up would reach what starts it: a Ctrl-C would end the pane.
    run.pane.wait_for(PROMPT.strip(), timeout=30)
    try:
        yield run
    finally:
        subprocess.run(["tmux", "-L", tmux, "kill-server"], check=False)
        for session in _sessions_of(run):
            with contextlib.suppress(docker.errors.APIError):
                engine.api.remove_container(session, force=True, v=True)


def test_readme_lists_what_it_shows() -> None:
    """The extraction itself: the README's commands are found, and only install/test are
    left out (with a reason each)."""
    commands = [shlex.join(c) for c in readme_commands()]
    assert set(NOT_RUN) <= set(commands)
    assert "claudex pull app/build.log --name NAME ./out" in commands
    assert "claudex log" in commands  # `a; b; c` on one line are three commands


def test_every_readme_command_runs(readme_run: Run) -> None:
    run, pane = readme_run, readme_run.pane
    for command in readme_commands():
        shown = shlex.join(command)
        if shown in NOT_RUN:
            continue
        step = STEPS[_step_key(command)]
        step.before(run)
        pane.clear()
        typed = _typed(_substitute(command, run))
        pane.keys(f'{typed}; echo "EXIT=$?"', "Enter")
        step.keys(run, command, pane.text)
        screen = pane.wait_until(lambda s: exit_code(s) is not None, f"{shown} to end", 180)
        out = screen.split(typed, 1)[-1]
        assert exit_code(screen) == 0, f"`{shown}` (run as `{typed}`) failed:\n{screen}"
        assert "Traceback" not in screen and "error:" not in out, screen
        step.check(run, out)
        run.ran.append(shown)
    assert len(run.ran) == len(readme_commands()) - len(NOT_RUN)
    # What the start lines made besides NAME (destroyed above): the codex session with its
    # read-only reference dir, and the --parallel one for the same directory.
    left = {
        c["Names"][0].lstrip("/"): c["Labels"]
        for c in run.engine.api.containers(all=True, filters={"label": [labels.SIGNATURE]})
        if str(run.home) in c["Labels"][labels.MOUNTS]
    }
    app, specs = str(run.app.resolve()), str(run.specs.resolve())
    agents = sorted(
        (json.loads(lab[labels.MOUNTS]), json.loads(lab[labels.READ_ONLY]), lab[labels.AGENT])
        for lab in left.values()
    )
    assert agents == [([app], [], "shell"), ([app, specs], [specs], "codex")], left
    assert run.name not in left and all(n.startswith(run.name) for n in left if "specs" not in n)
