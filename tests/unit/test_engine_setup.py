"""When no engine answers: who is offered to have one installed and started (root on
Debian/Ubuntu with apt-get, a local engine), asked on a terminal, started with --yes, told
what to run otherwise; and what `claudex` does with each answer."""

from __future__ import annotations

import pytest

from claudex_tui.commands import engine_offer
from container import engine
from container.engine_setup import YES_COMMAND, Offer, can_start, decide
from container.errors import EngineUnavailable
from tests.unit.test_engine_fix import facts


@pytest.mark.parametrize(
    ("kw", "apt", "tty", "yes", "want"),
    [
        ({}, True, True, False, Offer.ASK),
        ({}, True, False, False, Offer.TELL),  # no terminal: never waits for an answer
        ({}, True, False, True, Offer.START),
        ({}, True, True, True, Offer.START),
        ({"os_ids": ("ubuntu", "debian")}, True, True, False, Offer.ASK),
        ({"os_ids": ("linuxmint", "ubuntu")}, True, True, False, Offer.ASK),
        ({"root": False}, True, True, True, Offer.FIX),  # not root: says what to run
        ({"os_ids": ("fedora",)}, False, True, True, Offer.FIX),
        ({"os_ids": ("debian",)}, False, True, False, Offer.FIX),  # no apt-get
        ({"platform": "darwin"}, True, True, False, Offer.FIX),
        ({"docker_host": "unix:///tmp/mine/docker.sock"}, True, True, False, Offer.ASK),
        ({"docker_host": "unix:///var/run/docker.sock"}, True, False, False, Offer.TELL),
        ({"docker_host": "tcp://box:2375"}, True, True, True, Offer.FIX),  # another machine's
        ({"docker_host": "ssh://me@box"}, True, True, True, Offer.FIX),
        ({"docker_host": "unix:///run/user/1000/docker.sock"}, True, True, True, Offer.FIX),
    ],
)
def test_the_decision(kw: dict[str, object], apt: bool, tty: bool, yes: bool, want: Offer):
    assert decide(facts(**kw), apt, tty, yes) is want
    assert can_start(facts(**kw), apt) is (want is not Offer.FIX)


DOWN = EngineUnavailable(
    "the Docker Engine is not reachable at unix:///var/run/docker.sock (refused)",
    "install and start it: apt-get install -y docker.io && service docker start",
)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Calls of the engine start (none really run), each returning what the list holds."""
    calls: list[int] = []

    def start() -> int:
        calls.append(0)
        return 0

    monkeypatch.setattr(engine_offer, "start_engine", start)
    return calls


def test_no_terminal_says_the_command_and_starts_nothing(started: list[int]):
    with pytest.raises(EngineUnavailable) as err:
        engine_offer.start_or_explain(DOWN, Offer.TELL)
    assert err.value.message == DOWN.message
    assert err.value.hint == (
        f"to install and start one as the test command does: {YES_COMMAND} "
        f"(or yourself: {DOWN.hint})"
    )
    assert "\n" not in err.value.hint and started == []


def test_elsewhere_the_systems_fix(started: list[int]):
    with pytest.raises(EngineUnavailable) as err:
        engine_offer.start_or_explain(DOWN, Offer.FIX)
    assert err.value is DOWN and started == []


@pytest.mark.parametrize(
    ("answer", "starts"), [("y", True), ("yes", True), ("n", False), ("", False)]
)
def test_asked_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, started: list[int], answer: str, starts: bool
):
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        return answer

    monkeypatch.setattr("builtins.input", ask)
    if starts:
        engine_offer.start_or_explain(DOWN, Offer.ASK)
    else:
        with pytest.raises(EngineUnavailable, match="no Docker Engine answers") as err:
            engine_offer.start_or_explain(DOWN, Offer.ASK)
        assert err.value.hint == f"not installing; to do it yourself: {DOWN.hint}"
    assert asked == [f"{engine_offer.QUESTION} [y/N] "]
    assert started == ([0] if starts else [])


def test_eof_at_the_question_is_no(monkeypatch: pytest.MonkeyPatch, started: list[int]):
    def eof(q: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    with pytest.raises(EngineUnavailable):
        engine_offer.start_or_explain(DOWN, Offer.ASK)
    assert started == []


def test_yes_starts_without_asking(monkeypatch: pytest.MonkeyPatch, started: list[int]):
    monkeypatch.setattr("builtins.input", lambda q: pytest.fail("asked"))
    engine_offer.start_or_explain(DOWN, Offer.START)
    assert started == [0]


def test_a_failed_start_says_so(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine_offer, "start_engine", lambda: 1)
    with pytest.raises(EngineUnavailable, match=r"could not be started .*exited 1") as err:
        engine_offer.start_or_explain(DOWN, Offer.START)
    assert err.value.hint == DOWN.hint


def test_no_offer_when_permission_is_denied(monkeypatch: pytest.MonkeyPatch, started: list[int]):
    denied = EngineUnavailable("the Docker Engine: permission denied at unix:///x", "group")

    def refuse(timeout: int = 60) -> None:
        raise denied

    monkeypatch.setattr(engine, "connect", refuse)
    monkeypatch.setattr(engine_offer, "offer", lambda yes=False: Offer.START)
    with pytest.raises(EngineUnavailable) as err:
        engine_offer.connect_or_offer(yes=True)
    assert err.value is denied and started == []


def test_no_offer_for_an_engine_named_with_engine(monkeypatch: pytest.MonkeyPatch):
    class Named:
        name, host = "box", "ssh://box"

    monkeypatch.setattr(engine, "_selected", Named())
    assert engine_offer.offer(yes=True) is Offer.FIX


def test_the_dashboard_asks_before_the_screen_changes(monkeypatch: pytest.MonkeyPatch):
    """`claudex dashboard` asks only where it may start one (ASK); elsewhere it opens as before
    (the dashboard itself says when the engine is down)."""
    import argparse

    from claudex_tui.commands import dashboard

    calls: list[str] = []

    class Client:
        pass

    def connect(yes: bool = False) -> Client:
        calls.append("connected")
        return Client()

    monkeypatch.setattr(engine_offer, "connect_or_offer", connect)

    def opened(select: str | None, client: Client | None = None) -> int:
        # The engine check's connection is the dashboard's (no second connect).
        calls.append("opened with it" if isinstance(client, Client) else "opened")
        return 0

    monkeypatch.setattr(dashboard, "open_dashboard", opened)
    for what, want in (
        (Offer.ASK, ["connected", "opened with it"]),
        (Offer.TELL, ["opened"]),
        (Offer.FIX, ["opened"]),
    ):
        calls.clear()
        monkeypatch.setattr(engine_offer, "offer", lambda yes=False, what=what: what)
        assert dashboard.run(argparse.Namespace(select=None)) == 0
        assert calls == want


def test_doctor_yes_goes_with_fix(capsys: pytest.CaptureFixture[str]):
    from claudex_tui.cli import main

    assert main(["doctor", "--yes"]) == 2
    assert "--yes goes with --fix" in capsys.readouterr().err
