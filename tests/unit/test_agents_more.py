"""Gemini CLI, Copilot CLI and opencode beside Claude Code and Codex: one list of agents for the
CLI, the config, the form and the image's init; their logins copied like the others' (only what
logging in needs); their API keys and domains on the default lists."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest

from claudex_tui import cli
from claudex_tui.config import DEFAULT_ENV, Config, ConfigError, load_config
from container import firewall
from container.agent_home import (
    COPILOT_CONFIG,
    GEMINI_SETTINGS,
    LOGIN_PATHS,
    copilot_account,
    gemini_auth,
    login_files,
)
from container.agents import AGENT_NAMES, AGENTS
from container.image import CONTEXT_DIR
from container.local_fs import LocalFS
from container.mounts import plan_mounts

NEW = ("gemini", "copilot", "opencode")


def test_one_list_of_agents_everywhere() -> None:
    assert set(NEW) <= set(AGENTS)
    literal = typing.get_args(Config.model_fields["agent"].annotation)
    assert tuple(literal) == AGENTS
    assert set(AGENT_NAMES) == set(AGENTS)
    init = (CONTEXT_DIR / "claudex" / "init.sh").read_text()
    for agent in AGENTS:  # init.sh starts each of them (an unknown one fails the session)
        assert f"\n  {agent}) cmd=" in init, agent


@pytest.mark.parametrize("agent", NEW)
def test_cli_and_config_take_the_new_agents(agent: str, tmp_path: Path) -> None:
    _, ns = cli.parse(["proj", "--agent", agent])
    assert ns.agent == agent
    path = tmp_path / "config.toml"
    path.write_text(f'agent = "{agent}"\n')
    assert load_config(path).agent == agent


def test_an_unknown_agent_names_the_choices(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('agent = "aider"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "agent" in err.value.message and "opencode" in err.value.message


def test_api_keys_and_domains_on_the_default_lists() -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "COPILOT_GITHUB_TOKEN"):
        assert name in DEFAULT_ENV
    # A wide GitHub token is the user's to pass (config `env`), not every session's.
    assert "GITHUB_TOKEN" not in DEFAULT_ENV and "GH_TOKEN" not in DEFAULT_ENV
    for name in (
        "generativelanguage.googleapis.com",
        "cloudcode-pa.googleapis.com",
        "oauth2.googleapis.com",
        "accounts.google.com",
        "api.githubcopilot.com",
        "api.individual.githubcopilot.com",
        "copilot-proxy.githubusercontent.com",
        "models.dev",
        "opencode.ai",
    ):
        assert firewall.covering_name(name, firewall.DEFAULT_ALLOW), name
    assert not firewall.covering_name("storage.googleapis.com", firewall.DEFAULT_ALLOW)


def fake_home(root: Path) -> Path:
    """A host home after logging in to Gemini CLI, Copilot CLI and opencode, with settings that
    must not follow the login into a session."""
    home = root / "home"
    gemini = home / ".gemini"
    gemini.mkdir(parents=True)
    (gemini / "oauth_creds.json").write_text('{"refresh_token": "g-refresh"}')
    (gemini / "google_accounts.json").write_text('{"active": "me@example.com"}')
    (gemini / "settings.json").write_text(
        json.dumps(
            {
                "security": {"auth": {"selectedType": "oauth-personal"}, "folderTrust": {}},
                "mcpServers": {"evil": {"command": "curl"}},
                "hooks": {"BeforeTool": [{"command": "evil"}]},
                "tools": {"discoveryCommand": "evil"},
            }
        )
    )
    (gemini / "tmp").mkdir()
    (gemini / "tmp" / "chat.json").write_text("OTHER-PROJECT")
    copilot = home / ".copilot"
    copilot.mkdir()
    (copilot / "config.json").write_text(
        json.dumps(
            {
                "loggedInUsers": [{"host": "https://github.com", "login": "me"}],
                "lastLoggedInUser": {"host": "https://github.com", "login": "me"},
                "copilotTokens": {"https://github.com:me": "gho_host"},
                "trustedFolders": ["/home/me/other"],
                "installedPlugins": [{"name": "evil"}],
            }
        )
    )
    (copilot / "mcp-config.json").write_text('{"mcpServers": {"evil": {}}}')
    opencode = home / ".local" / "share" / "opencode"
    opencode.mkdir(parents=True)
    (opencode / "auth.json").write_text('{"anthropic": {"type": "api", "key": "sk-oc"}}')
    (home / ".config" / "opencode").mkdir(parents=True)
    (home / ".config" / "opencode" / "opencode.json").write_text('{"mcp": {"evil": {}}}')
    return home


def test_only_what_logging_in_needs_is_copied(tmp_path: Path) -> None:
    files, warnings = login_files(fake_home(tmp_path))
    assert not warnings
    by_path = {f.path: f.data for f in files}
    assert set(by_path) == {
        ".gemini/oauth_creds.json",
        ".gemini/google_accounts.json",
        GEMINI_SETTINGS,
        COPILOT_CONFIG,
        ".local/share/opencode/auth.json",
    }
    assert json.loads(by_path[GEMINI_SETTINGS]) == {
        "security": {"auth": {"selectedType": "oauth-personal"}}
    }
    copilot = json.loads(by_path[COPILOT_CONFIG])
    assert set(copilot) == {"loggedInUsers", "lastLoggedInUser", "copilotTokens"}
    everything = b"".join(by_path.values())
    assert b"evil" not in everything and b"OTHER-PROJECT" not in everything
    assert b"/home/me/other" not in everything
    assert "gho_host" not in repr(files)  # the plan never prints a secret


def test_odd_settings_are_warned_about_not_copied(tmp_path: Path) -> None:
    (tmp_path / ".gemini").mkdir()
    (tmp_path / ".gemini" / "settings.json").write_text("[1]")
    (tmp_path / ".copilot").mkdir()
    (tmp_path / ".copilot" / "config.json").write_text('{"trustedFolders": []}')
    files, warnings = login_files(tmp_path)
    assert files == []
    assert len(warnings) == 1 and "not a JSON object" in warnings[0]
    assert gemini_auth(b"{}") == {} and gemini_auth(b"nope") is None
    assert gemini_auth(b'{"selectedAuthType": "gemini-api-key"}') == {
        "selectedAuthType": "gemini-api-key"
    }
    assert copilot_account(b'"x"') is None


def test_shared_home_mounts_the_new_login_folders(tmp_path: Path) -> None:
    home = fake_home(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    plan = plan_mounts([str(proj)], home=str(home), share_agent_home=True, fs=LocalFS())
    targets = {m.target for m in plan.mounts if m.role == "login"}
    assert targets == {"/home/agent/.gemini", "/home/agent/.copilot"}
    assert ".gemini" in LOGIN_PATHS and ".copilot" in LOGIN_PATHS


def test_gemini_cli_gets_the_waiting_hooks_from_a_root_file() -> None:
    """Gemini CLI's system settings (they override the user's) call notify.sh like Claude Code's
    managed settings do. Not fired end to end here: it needs a login and a reachable model."""
    settings = json.loads((CONTEXT_DIR / "claudex" / "gemini-settings.json").read_text())
    commands = {
        event: [h["command"] for group in groups for h in group["hooks"]]
        for event, groups in settings["hooks"].items()
    }
    assert commands == {
        "Notification": ["/usr/local/lib/claudex/notify.sh notification"],
        "AfterAgent": ["/usr/local/lib/claudex/notify.sh stop"],
    }
    dockerfile = (CONTEXT_DIR / "Dockerfile").read_text()
    setting = "GEMINI_CLI_SYSTEM_SETTINGS_PATH=/usr/local/lib/claudex/gemini-settings.json"
    assert setting in dockerfile
