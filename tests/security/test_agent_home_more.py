"""Attack 5 again, for Gemini CLI, Copilot CLI and opencode: their logins get the treatment
Claude Code's and Codex's get. A session holds copies of what logging in needs and nothing else
of the host's ~/.gemini, ~/.copilot or opencode folders (no MCP servers, hooks, plugins, trusted
folders, other projects' chats); what the agent writes there never reaches the host; destroy
keeps its settings in the audit folder, never a token.

The CLI runs with HOME set to a fake host home, so the test never touches a real login."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from tests.security.conftest import CLI, as_agent, as_root
from tests.security.test_agent_home import archive_files, home_archive, tree_hash

GEMINI_SETTINGS = {
    "security": {"auth": {"selectedType": "oauth-personal"}},
    "mcpServers": {"host-mcp": {"command": "host-mcp-server"}},
    "hooks": {"BeforeTool": [{"hooks": [{"type": "command", "command": "host-hook"}]}]},
}
COPILOT_CONFIG = {
    "loggedInUsers": [{"host": "https://github.com", "login": "me"}],
    "lastLoggedInUser": {"host": "https://github.com", "login": "me"},
    "copilotTokens": {"https://github.com:me": "gho_HOST_TOKEN"},
    "trustedFolders": ["/home/me/OTHER-PROJECT"],
}
HOOK = {"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "touch /tmp/pwn"}]}]}}


@pytest.fixture
def host_home(tmp_path: Path) -> Path:
    """A user's home after logging in to the three agents and using them on other projects."""
    home = tmp_path / "host-home"
    gemini = home / ".gemini"
    (gemini / "tmp" / "other").mkdir(parents=True)
    (gemini / "oauth_creds.json").write_text('{"refresh_token": "g-HOST-REFRESH"}')
    (gemini / "google_accounts.json").write_text('{"active": "me@example.com"}')
    (gemini / "settings.json").write_text(json.dumps(GEMINI_SETTINGS))
    (gemini / "tmp" / "other" / "chat.json").write_text("OTHER-PROJECT-SECRET")
    (home / ".copilot").mkdir()
    (home / ".copilot" / "config.json").write_text(json.dumps(COPILOT_CONFIG))
    (home / ".copilot" / "mcp-config.json").write_text('{"mcpServers": {"host-mcp": {}}}')
    opencode = home / ".local" / "share" / "opencode"
    opencode.mkdir(parents=True)
    (opencode / "auth.json").write_text('{"anthropic": {"type": "api", "key": "sk-HOST-OC"}}')
    (home / ".config" / "opencode").mkdir(parents=True)
    (home / ".config" / "opencode" / "opencode.json").write_text('{"mcp": {"host-mcp": {}}}')
    return home


def test_new_agents_logins_are_copied_alone_and_never_flow_back(
    cli: CLI, project: Path, host_home: Path, engine: docker.DockerClient
) -> None:
    env = {"HOME": str(host_home)}
    before = tree_hash(host_home)
    res = cli(str(project), "-d", "--agent", "shell", env=env)
    assert res.code == 0, res.text
    name = res.out.strip()
    try:
        mounts = engine.api.inspect_container(name)["Mounts"]
        assert not [m for m in mounts if str(host_home) in m["Source"]]

        # Logged in: the copies are the agent's own, private.
        logins = (
            "~/.gemini/oauth_creds.json ~/.gemini/google_accounts.json ~/.gemini/settings.json "
            "~/.copilot/config.json ~/.local/share/opencode/auth.json"
        )
        code, out = as_agent(engine, name, f"stat -c '%u %a' {logins}")
        assert code == 0 and out.split() == ["4242", "600"] * 5, out
        code, out = as_agent(engine, name, "cat ~/.gemini/settings.json")
        assert json.loads(out) == {"security": {"auth": {"selectedType": "oauth-personal"}}}
        code, out = as_agent(engine, name, "cat ~/.copilot/config.json")
        assert json.loads(out)["copilotTokens"] == COPILOT_CONFIG["copilotTokens"]
        assert "trustedFolders" not in json.loads(out)
        code, out = as_agent(engine, name, "cat ~/.local/share/opencode/auth.json")
        assert "sk-HOST-OC" in out

        # Nothing else: no MCP servers, hooks, trusted folders or other projects' chats.
        code, out = as_agent(
            engine,
            name,
            "ls -A ~/.gemini ~/.copilot; ls ~/.config/opencode 2>&1; "
            "grep -rs 'host-mcp\\|host-hook\\|OTHER-PROJECT' ~ /workspace /tmp; true",
        )
        assert "mcp-config.json" not in out and "opencode.json" not in out and "tmp" not in out
        assert "host-mcp" not in out and "host-hook" not in out and "OTHER-PROJECT" not in out

        # The attack: hooks, MCP servers and plugins for the host's next run of each agent.
        attack = (
            f"echo '{json.dumps(HOOK)}' > ~/.gemini/settings.json && "
            'echo \'{"mcpServers": {"evil": {"command": "evil"}}}\' > ~/.copilot/mcp-config.json'
            " && mkdir -p ~/.config/opencode/plugin && "
            "echo 'EVIL-PLUGIN' > ~/.config/opencode/plugin/evil.js && "
            'echo \'{"refresh_token": "SESSION-LOGIN"}\' > ~/.gemini/oauth_creds.json && '
            "ln -s /etc/shadow ~/.gemini/shadow-link"
        )
        code, out = as_agent(engine, name, attack)
        assert code == 0, out
        assert tree_hash(host_home) == before
        code, out = as_root(engine, name, "test -e /tmp/pwn && echo present; true")
        assert "present" not in out
    finally:
        res = cli("destroy", "--name", name, "--force", env=env, timeout=60)
    assert res.code == 0, res.text

    # The audit archive keeps what the session did, without a token of the host or the session.
    files = archive_files(home_archive(res.out))
    assert json.loads(files["agent-home/.gemini/settings.json"]) == HOOK
    assert b"evil" in files["agent-home/.copilot/mcp-config.json"]
    assert b"EVIL-PLUGIN" in files["agent-home/.config/opencode/plugin/evil.js"]
    everything = b"".join(files.values())
    for secret in (b"SESSION-LOGIN", b"g-HOST-REFRESH", b"gho_HOST_TOKEN", b"sk-HOST-OC"):
        assert secret not in everything, secret
    note = json.loads(files["claudex-audit.json"])
    for rel in (".gemini/oauth_creds.json", ".copilot/config.json"):
        assert rel in note["left_out"]["credentials"], note
    assert ".gemini/shadow-link" in note["left_out"]["links"]
    assert tree_hash(host_home) == before
