"""A project's `.claudex.toml` MCP servers (the agent can write that file): only image,
command and allow are taken; host variables and paths are refused with one clear message; the
user's trust covers exactly what was shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from container import firewall
from container.errors import ClaudexError
from container.mcp_project import confirmed_servers, read_project_mcp


def write(tmp_path: Path, text: str) -> str:
    (tmp_path / ".claudex.toml").write_text(text)
    return str(tmp_path)


def test_servers_are_read_and_described(tmp_path: Path) -> None:
    d = write(tmp_path, '[mcp.docs]\nimage = "x/docs:1"\ncommand = ["run", "a b"]\n')
    (found,) = read_project_mcp([d])
    assert (
        found.asks
        == "asks to run MCP servers: docs (image x/docs:1, command run a b, reaches no network)"
    )
    assert found.servers() == {
        "docs": {
            "image": "x/docs:1",
            "command": ["run", "a b"],
            "allow": [],
            "env": [],
            "binds": [],
        }
    }


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('[mcp.a]\nimage = "x"\nenv = ["HOME"]', "mcp.a: env is not allowed in a project's file"),
        ('[mcp.a]\nimage = "x"\nmounts = [{path = "/"}]', "mcp.a: mounts is not allowed"),
        ('[mcp.A]\nimage = "x"', "mcp.A: not an MCP server name"),
        ('[mcp.a]\nimage = "--privileged"', "mcp.a.image must be an image name"),
        ('[mcp.a]\nimage = "x"\ncommand = ["\\u001b[2J"]', "printable strings"),
        ('[mcp.a]\nimage = "x"\nallow = ["com"]', "mcp.a.allow: "),
        ("mcp = 3", "mcp must hold [mcp.NAME] tables"),
    ],
)
def test_what_a_project_may_not_ask_is_refused_clearly(
    tmp_path: Path, table: str, said: str
) -> None:
    d = write(tmp_path, table + "\n")
    with pytest.raises(ClaudexError) as err:
        read_project_mcp([d])
    assert said in err.value.message
    assert "\x1b" not in err.value.message


def test_trust_covers_exactly_what_was_confirmed(tmp_path: Path) -> None:
    d = write(tmp_path, '[mcp.docs]\nimage = "x/docs"\n')
    asked: list[str] = []

    def no(found: firewall.ProjectAllow) -> bool:
        asked.append(found.asks)
        return False

    assert confirmed_servers([d], no) == {}
    assert confirmed_servers([d], lambda found: True)["docs"]["image"] == "x/docs"
    assert confirmed_servers([d], no)["docs"]["image"] == "x/docs"  # remembered, not asked
    assert len(asked) == 1
    write(tmp_path, '[mcp.docs]\nimage = "x/other"\n')
    assert confirmed_servers([d], no) == {}  # changed: asked again
    assert asked[-1].endswith("docs (image x/other, reaches no network)")
    # The file's firewall entries are trusted apart from its servers.
    (allow,) = read_project_mcp([d])
    assert not firewall.is_trusted(firewall.ProjectAllow(allow.path, allow.entries))
