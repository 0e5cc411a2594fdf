"""The tmux alerts reader's lines are the agent's to forge: only FLAG:TIME tokens count."""

from __future__ import annotations

from container.tmux_alerts import ACTIVITY, BELL, AlertParser


def test_first_line_is_where_things_stand_then_changes_are_reported() -> None:
    seen: list[str] = []
    parser = AlertParser(seen.append)
    parser.line("1:100 0:90")  # a bell from before the dashboard looked: not news
    assert seen == []
    parser.line("1:100 0:90")
    assert seen == []
    parser.line("0:101 0:90")  # attached and cleared, and output
    assert seen == [ACTIVITY]
    parser.line("0:101 1:102")
    assert seen == [ACTIVITY, ACTIVITY, BELL]


def test_garbage_is_ignored() -> None:
    seen: list[str] = []
    parser = AlertParser(seen.append)
    parser.line("0:100")
    for junk in ("", "[bold]x[/]", "2:5", "1:", "1:99999999999999", "\x1b[31m1:200", "1:2:3"):
        parser.line(junk)
    assert seen == []
    parser.line("junk 1:100 more")  # the well-formed token still counts
    assert seen == [BELL]
