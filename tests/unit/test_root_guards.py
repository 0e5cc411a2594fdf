"""Pure logic behind "no root for the agent": the image manifest, the watcher's user and line
cleaning, the environment the config refuses to pass (tests/security/test_root_escape.py
plays the attacks on the real engine)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from claudex_tui.config import ConfigError, load_config, unsafe_env
from container import integrity
from container.image import CONTEXT_DIR, _context_files
from container.labels import agent_user
from container.watch import clean_line


def test_the_manifest_covers_every_shipped_script_and_the_dockerfiles_copies() -> None:
    manifest = integrity.image_manifest(CONTEXT_DIR, _context_files())
    shipped = {p.name for p in (CONTEXT_DIR / "claudex").iterdir() if p.is_file()}
    assert {f"{integrity.LIB}/{n}" for n in shipped} <= set(manifest)
    assert manifest[integrity.LIB] == manifest[integrity.ETC] == "dir"
    # Every file the Dockerfile installs outside /usr/local/lib/claudex is listed in COPIES.
    dockerfile = (CONTEXT_DIR / "Dockerfile").read_text()
    copied = re.findall(r"install -m \d+ /usr/local/lib/claudex/(\S+) (\S+)", dockerfile)
    installed = {target: source for source, target in copied}
    assert installed == integrity.COPIES
    for target, source in integrity.COPIES.items():
        assert manifest[target] == manifest[f"{integrity.LIB}/{source}"]
        assert manifest[target].startswith("sha256:")


def test_a_missing_label_skips_and_a_broken_one_refuses() -> None:
    assert integrity.parse_label(None) is None
    assert integrity.parse_label("not json") == {}
    label = integrity.manifest_label({"/a": "dir"})
    assert integrity.parse_label(label) == {"/a": "dir"}


@pytest.mark.parametrize(
    ("label", "user"),
    [
        ("4242:4242", "4242:4242"),
        ("4242:0", "4242:4242"),  # never root's group
        ("0:0", None),
        ("agent", None),
        ("", None),
        ("4242:x", None),
    ],
)
def test_the_watcher_runs_as_the_agent_from_the_label(label: str, user: str | None) -> None:
    assert agent_user({"com.claudex.agent-uid": label} if label else {}) == user


def test_watcher_lines_are_short_and_printable() -> None:
    assert clean_line(b"123 stop") == "123 stop"
    line = clean_line(b"end \x1b]0;title\x07 \x1b[31mred" + b"x" * 1000)
    assert "\x1b" not in line and "\x07" not in line and len(line) <= 200
    assert clean_line(b"\xff\xfe bad utf-8") == "\ufffd\ufffd bad utf-8"


@pytest.mark.parametrize(
    "name",
    ["PATH", "LD_PRELOAD", "ld_library_path", "BASH_ENV", "ENV", "PYTHONPATH", "GIT_DIR",
     "GIT_CONFIG_GLOBAL", "NODE_OPTIONS", "BASH_FUNC_x%%", "CLAUDEX_FIREWALL", "TMPDIR"],
)  # fmt: skip
def test_variables_that_choose_what_root_runs_are_refused(name: str, tmp_path: Path) -> None:
    assert unsafe_env(name)
    config = tmp_path / "config.toml"
    config.write_text(f'env = ["ANTHROPIC_API_KEY", "{name}"]\n')
    if "%" in name:
        return  # not even a variable name: refused for that already
    with pytest.raises(ConfigError, match=re.escape(name)):
        load_config(config)


@pytest.mark.parametrize(
    "name", ["ANTHROPIC_API_KEY", "GIT_AUTHOR_NAME", "GIT_COMMITTER_EMAIL", "TERM"]
)
def test_ordinary_variables_still_pass(name: str, tmp_path: Path) -> None:
    assert not unsafe_env(name)
    config = tmp_path / "config.toml"
    config.write_text(f'env = ["{name}"]\n')
    assert name in load_config(config).env
