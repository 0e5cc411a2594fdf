"""How `claudex doctor` prints its checks: one line each, the fix on the line when something is
wrong, JSON for scripts, exit 1 only on a failure; and its host-side checks (logins, disk)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from claudex_tui.commands.doctor import (
    exit_code,
    format_json,
    format_line,
    format_report,
    summary,
)
from container import doctor_checks
from container.doctor_checks import Check, check_disk, check_logins, skipped

CHECKS = [
    Check("config", "ok", "/c/config.toml", "never shown for ok"),
    Check("engine", "failed", "unix:///x.sock: not reachable", "start the Docker Engine"),
    skipped("image", "the engine did not answer"),
    Check("dns", "warning", "2 of 19 names do not resolve", "check the resolver"),
]


def test_one_line_per_check_with_the_fix_when_not_ok() -> None:
    lines = format_report(CHECKS, io.StringIO()).splitlines()
    assert lines == [
        "ok       config /c/config.toml",
        "failed   engine unix:///x.sock: not reachable  fix: start the Docker Engine",
        "skipped  image  skipped: the engine did not answer",
        "warning  dns    2 of 19 names do not resolve  fix: check the resolver",
    ]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_colored_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    line = format_line(CHECKS[1], 6, Tty())
    assert line.startswith("\x1b[1;31mfailed  \x1b[0m engine")
    assert "\x1b" not in format_line(CHECKS[1], 6, io.StringIO())


def test_json_has_every_field_of_every_check() -> None:
    entries = json.loads(format_json(CHECKS))
    assert [e["name"] for e in entries] == ["config", "engine", "image", "dns"]
    assert entries[1] == {
        "name": "engine",
        "status": "failed",
        "detail": "unix:///x.sock: not reachable",
        "fix": "start the Docker Engine",
    }
    assert entries[2]["status"] == "skipped"


def test_exit_code_is_1_only_on_a_failure() -> None:
    assert exit_code(CHECKS) == 1
    assert exit_code([c for c in CHECKS if c.status != "failed"]) == 0
    assert exit_code([]) == 0


def test_summary_counts_each_status() -> None:
    assert summary(CHECKS, 1.234) == "4 checks in 1.2s: 1 ok, 1 warning, 1 failed, 1 skipped"


def test_logins_found_missing_and_broken(tmp_path: Path) -> None:
    """The login check reports what a new session's home would get (agent_home's rules)."""
    assert check_logins(tmp_path).status == "ok"
    assert "no agent login" in check_logins(tmp_path).detail
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "auth.json").write_text("{}")
    (tmp_path / ".claude.json").write_text('{"oauthAccount": {"x": 1}, "projects": {}}')
    found = check_logins(tmp_path)
    assert found.status == "ok"
    assert "Claude Code, Codex" in found.detail
    (tmp_path / ".claude.json").write_text("[1]")
    broken = check_logins(tmp_path)
    assert broken.status == "warning"
    assert "not a JSON object" in broken.detail and broken.fix


def test_disk_warns_under_the_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_disk("disk-state", str(tmp_path), "state dir").status == "ok"
    monkeypatch.setattr(doctor_checks, "LOW_DISK", 1 << 62)
    low = check_disk("disk-state", str(tmp_path), "state dir")
    assert low.status == "warning" and "free" in low.detail and low.fix
    missing = check_disk("disk-state", str(tmp_path / "nope"), "state dir")
    assert missing.status == "warning" and "cannot see its free space" in missing.detail
