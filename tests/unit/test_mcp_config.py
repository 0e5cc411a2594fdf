"""`[mcp.NAME]` in the config and `claudex mcp list|add|remove`: bad input is one clear message
naming the key, the user's file keeps its comments and layout, and a server written some other
way is left for the user to edit rather than half-removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claudex_tui.config import ConfigError, load_config

MINE = '# my settings\nagent = "codex"\n\n[resources]\nmemory = "8g"  # enough\n'


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "claudex" / "config.toml"
    path.parent.mkdir()
    path.write_text(MINE)
    return path


def claudex(config: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The real CLI with `config` as its config file."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(config.parent.parent)}
    return subprocess.run(
        [sys.executable, "-m", "claudex_tui.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_a_server_table_loads_with_safe_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[mcp.fetch]\nimage = "mcp/fetch"\nmounts = [{ path = "/srv/a" }, '
        '{ path = "~/out", rw = true }]\n'
    )
    server = load_config(path).mcp["fetch"]
    assert server.command == [] and server.env == [] and server.allow == []  # default-deny
    assert [(m.path.is_absolute(), m.rw) for m in server.mounts] == [(True, False), (True, True)]


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('[mcp.Fetch]\nimage = "x"\n', "mcp"),
        ("[mcp.fetch]\n", "mcp.fetch.image"),
        ('[mcp.fetch]\nimage = "x y"\n', "mcp.fetch.image"),
        ('[mcp.fetch]\nimage = "x"\nenv = ["LD_PRELOAD"]\n', "mcp.fetch.env"),
        ('[mcp.fetch]\nimage = "x"\nallow = ["co.uk"]\n', "mcp.fetch.allow"),
        ('[mcp.fetch]\nimage = "x"\nmounts = [{ path = "rel" }]\n', "mcp.fetch.mounts.0.path"),
        ('[mcp.fetch]\nimage = "x"\nprivileged = true\n', "mcp.fetch.privileged"),
    ],
)
def test_bad_servers_name_the_key(tmp_path: Path, table: str, key: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(table)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f": {key}: " in err.value.message


def test_add_list_remove_keep_the_users_file(config: Path) -> None:
    res = claudex(
        config,
        "mcp", "add", "fetch", "--image", "mcp/fetch", "--command", "python -m fetch 'a b'",
        "--allow", "example.com,api.example.org", "--mount", "/srv/docs",
        "--mount", "/srv/out:rw", "--env", "FETCH_KEY",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "may reach: example.com, api.example.org" in res.stderr  # its own firewall's list
    assert config.read_text().startswith(MINE)  # comments and layout kept, the table appended
    server = load_config(config).mcp["fetch"]
    assert server.command == ["python", "-m", "fetch", "a b"]
    assert server.allow == ["example.com", "api.example.org"]
    mounts = [(str(m.path), m.rw) for m in server.mounts]
    assert mounts == [("/srv/docs", False), ("/srv/out", True)]
    res = claudex(config, "mcp", "list", "--format", "json")
    assert json.loads(res.stdout)["fetch"]["image"] == "mcp/fetch"
    assert "fetch  mcp/fetch" in claudex(config, "mcp", "list").stdout

    res = claudex(config, "mcp", "add", "fetch", "--image", "other")
    assert res.returncode == 2 and "configured already" in res.stderr
    assert claudex(config, "mcp", "remove", "fetch").returncode == 0
    assert config.read_text() == MINE
    res = claudex(config, "mcp", "remove", "fetch")
    assert res.returncode == 2 and "no MCP server 'fetch'" in res.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Bad", "--image", "x"], "is not an MCP server name"),
        (["b", "--image", "x", "--env", "PATH"], "env: PATH cannot be passed"),
        (["b", "--image", "x", "--allow", "com"], "public suffix"),
        (["b", "--image", "x", "--mount", "rel"], "not an absolute path"),
        (["b", "--image", "x", "--command", "'open"], "--command:"),
    ],
)
def test_bad_add_is_one_message_and_leaves_the_file(
    config: Path, argv: list[str], message: str
) -> None:
    res = claudex(config, "mcp", "add", *argv)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert config.read_text() == MINE


def test_a_server_written_otherwise_is_left_to_the_user(config: Path) -> None:
    inline = MINE.replace(
        'agent = "codex"\n', 'agent = "codex"\nmcp = { fetch = { image = "x" } }\n'
    )
    config.write_text(inline)
    res = claudex(config, "mcp", "remove", "fetch")
    assert res.returncode == 2 and "editing the file" in res.stderr
    assert config.read_text() == inline


def test_agents_configs_name_claudex_mcp_and_keep_the_login() -> None:
    from container.agent_home import LoginFile
    from container.mcp_agent_config import with_mcp_configs

    account = LoginFile(".claude.json", b'{"userID": "u-1"}')
    creds = LoginFile(".codex/auth.json", b"{}")
    assert with_mcp_configs([], [account, creds]) == [account, creds]
    files = {f.path: f.data for f in with_mcp_configs(["fetch"], [account, creds])}
    claude = json.loads(files[".claude.json"])
    assert claude["userID"] == "u-1"  # the login copy, merged
    assert claude["mcpServers"] == {
        "fetch": {"type": "stdio", "command": "claudex-mcp", "args": ["fetch"]}
    }
    assert files[".codex/auth.json"] == b"{}"
    assert b'[mcp_servers.fetch]\ncommand = "claudex-mcp"' in files[".codex/config.toml"]
    assert json.loads(files[".config/opencode/opencode.json"])["mcp"]["fetch"]["command"] == [
        "claudex-mcp",
        "fetch",
    ]


def test_a_shared_home_is_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from claudex_tui.config import Config
    from claudex_tui.start_request import start_request

    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    proj = tmp_path / "proj"
    proj.mkdir()
    config = Config.model_validate({"mcp": {"fetch": {"image": "x"}}})
    monkeypatch.setenv("HOME", str(home))
    own = start_request(config, [str(proj)])
    shared = start_request(config, [str(proj)], share_agent_home=True)
    assert ".codex/config.toml" in {f.path for f in own.plan.logins}
    assert own.mcp == {"fetch": {"image": "x", "command": [], "env": [], "binds": [], "allow": []}}
    assert shared.plan.logins == []
