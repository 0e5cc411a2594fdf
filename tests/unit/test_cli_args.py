"""Argument parsing and the messages for bad input: one clear line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from claudex_tui import cli
from claudex_tui.commands import start
from container.errors import UsageError


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    import os

    return subprocess.run(
        [sys.executable, "-m", "claudex_tui.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_start_flags() -> None:
    entry, ns = cli.parse(
        [
            "a",
            "b",
            "--name",
            "x",
            "--parallel",
            "--ro",
            "c",
            "--ro",
            "d",
            "--allow",
            "example.com",
            "--agent",
            "codex",
            "-d",
            "--no-git",
        ]
    )
    assert entry is cli._run_start
    assert ns.dirs == ["a", "b"] and ns.name == "x" and ns.parallel and ns.detach
    assert ns.ro == ["c", "d"] and ns.allow == ["example.com"] and ns.agent == "codex"
    assert ns.no_git and not ns.host_network and not ns.docker_socket


def test_subcommands_parse() -> None:
    _, ns = cli.parse(["list", "--format", "json", "--running", "--filter", "name=x*"])
    assert ns.format == "json" and ns.running and ns.filter == ["name=x*"]
    _, ns = cli.parse(["destroy", "--all", "--stopped", "--force"])
    assert ns.all and ns.stopped and ns.force
    _, ns = cli.parse(["push", "a", "b", "--to", "/workspace/x", "--name", "s"])
    assert ns.paths == ["a", "b"] and ns.to == "/workspace/x"
    _, ns = cli.parse(["build", "--ca-cert", "x.pem", "--no-cache"])
    assert ns.ca_cert == ["x.pem"] and ns.no_cache


def test_unknown_flag_is_an_error_not_a_directory() -> None:
    with pytest.raises(UsageError, match="unknown option: --bogus"):
        cli.parse(["--bogus"])
    with pytest.raises(UsageError, match="unknown option"):
        cli.parse(["list", "--bogus"])


def test_bad_choices() -> None:
    with pytest.raises(UsageError, match="invalid choice"):
        cli.parse(["--agent", "gpt"])
    with pytest.raises(UsageError, match="not allowed with"):
        cli.parse(["destroy", "--all", "--name", "x"])


def test_ro_alone_does_not_mount_the_current_directory() -> None:
    _, ns = cli.parse(["--ro", "/tmp"])
    assert ns.dirs == [] and ns.ro == ["/tmp"]
    assert start._request is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unknown option: --bogus"),
        (["/no/such/dir"], "directory not found: /no/such/dir"),
        (["/etc/hostname"], "not a directory: /etc/hostname"),
        (["list", "--filter", "x"], "bad filter"),
        (["build", "--ca-cert", "/no/such.pem"], "cannot read CA certificate file"),
        (["build", "--ca-cert", "/etc/hostname"], "holds no PEM certificate"),
    ],
)
def test_messages(args: list[str], message: str) -> None:
    res = run(*args)
    assert res.returncode != 0
    assert message in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert res.stderr.startswith("claudex: error:")


def test_engine_unreachable() -> None:
    res = run("list", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert res.returncode == 1
    assert "the Docker Engine is not reachable at unix:///nonexistent/docker.sock" in res.stderr
    assert "hint:" in res.stderr and "Traceback" not in res.stderr


def test_engine_unreachable_when_starting(tmp_path: Path) -> None:
    res = run(str(tmp_path), "-d", env={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    assert res.returncode == 1 and "not reachable" in res.stderr


def test_permission_denied_message() -> None:
    from container.engine import explain_connect_error

    err = explain_connect_error(PermissionError(13, "Permission denied"))
    assert "permission denied" in err.message and "docker" in (err.hint or "")


def test_version_and_help() -> None:
    res = run("--version")
    assert res.returncode == 0 and res.stdout.startswith("claudex ")
    res = run("--help")
    assert res.returncode == 0 and "claudex destroy" in res.stdout
    for sub in ("build", "update", "list", "destroy", "push", "pull", "shell"):
        res = run(sub, "--help")
        assert res.returncode == 0 and f"claudex {sub}" in res.stdout, sub


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    conf = tmp_path / "claudex"
    conf.mkdir()
    (conf / "config.toml").write_text('agent = "gpt"\n')
    res = run(str(tmp_path), "-d", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert res.returncode == 1
    assert "config.toml: agent:" in res.stderr and "Traceback" not in res.stderr
    (conf / "config.toml").write_text("agent = [\n")
    res = run(str(tmp_path), "-d", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert "not valid TOML" in res.stderr
    (conf / "config.toml").write_text("colour = 1\n")
    res = run(str(tmp_path), "-d", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert "colour: Extra inputs are not permitted" in res.stderr


def test_list_does_not_import_textual() -> None:
    code = (
        "import sys; from claudex_tui import cli; cli.parse(['list']);"
        "from claudex_tui.commands import listing, destroy, transfer, image, start, shell;"
        "print('textual' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout.strip() == "False", res.stderr


# -- one grammar: --name everywhere, options anywhere ---------------------------------------

SESSION_COMMANDS = [
    ["push", "a"],
    ["pull", "a"],
    ["shell"],
    ["attach"],
    ["destroy"],
    ["diff"],
    ["checkpoint"],
    ["log"],
    ["revert", "a"],
    ["dashboard"],
    ["firewall", "status"],
]


@pytest.mark.parametrize("argv", SESSION_COMMANDS, ids=lambda a: " ".join(a))
def test_every_session_command_takes_name(argv: list[str]) -> None:
    field = "select" if argv[0] == "dashboard" else "name"
    _, ns = cli.parse([*argv, "--name", "s1"])
    assert getattr(ns, field) == "s1"
    head = 2 if argv[0] == "firewall" else 1
    _, ns = cli.parse([*argv[:head], "--name", "s1", *argv[head:]])  # before the words too
    assert getattr(ns, field) == "s1"


def test_readme_pull_example_parses() -> None:
    """The README's `claudex pull proj1/app.py --name ux1 ./out`: options between paths."""
    _, ns = cli.parse(["pull", "proj1/app.py", "--name", "ux1", "./out"])
    assert ns.name == "ux1" and ns.paths == ["proj1/app.py", "./out"]
    _, ns = cli.parse(["push", "a", "--name", "n", "b", "--to", "/workspace/x", "c"])
    assert ns.paths == ["a", "b", "c"] and ns.to == "/workspace/x" and ns.name == "n"
    _, ns = cli.parse(["a", "--name", "x", "b", "--ro", "c"])
    assert ns.dirs == ["a", "b"] and ns.ro == ["c"] and ns.name == "x"


def test_positional_name_or_option() -> None:
    for argv in (["checkpoint", "s1", "-m", "m"], ["checkpoint", "-m", "m", "--name", "s1"]):
        _, ns = cli.parse(argv)
        assert (ns.name, ns.message) == ("s1", "m")
    _, ns = cli.parse(["log", "s1", "--name", "s1"])  # the same name twice is fine
    assert ns.name == "s1"
    with pytest.raises(UsageError, match="two session names: 's1' and --name 's2'"):
        cli.parse(["shell", "s1", "--name", "s2"])
    _, ns = cli.parse(["attach"])
    assert ns.name is None  # the session for the current directory


def test_firewall_allow_with_name_option() -> None:
    for argv in (
        ["firewall", "allow", "s1", "a.com", "b.org"],
        ["firewall", "allow", "--name", "s1", "a.com", "b.org"],
        ["firewall", "allow", "a.com", "--name", "s1", "b.org"],
    ):
        _, ns = cli.parse(argv)
        assert (ns.name, ns.entries) == ("s1", ["a.com", "b.org"]), argv
    with pytest.raises(UsageError, match="name what to deny"):
        cli.parse(["firewall", "deny", "s1"])


def test_dash_dash_still_ends_options() -> None:
    _, ns = cli.parse(["--name", "x", "--", "-odd-dir", "--ro"])
    assert ns.dirs == ["-odd-dir", "--ro"] and ns.name == "x"


def test_a_word_too_many_is_not_called_an_option() -> None:
    with pytest.raises(UsageError, match="unexpected argument: b"):
        cli.parse(["shell", "a", "b"])


def test_help_says_the_same_grammar() -> None:
    res = run("--help")
    assert "takes --name NAME" in res.stdout and "claudex checkpoint [NAME]" in res.stdout
    for argv in SESSION_COMMANDS:
        res = run(*argv[:2] if argv[0] == "firewall" else argv[:1], "--help")
        assert res.returncode == 0, argv
        text = " ".join(res.stdout.split())  # argparse wraps lines where it likes
        assert "--name NAME" in text, argv
        if argv[0] != "dashboard":
            assert "(default: the session for the current directory)" in text, argv
    for action in ("allow", "deny"):
        res = run("firewall", action, "--help")
        assert "--name NAME" in res.stdout and "session name" in res.stdout
