"""Allow-list entries, status parsing, .claudex.toml trust, config and CLI of the firewall."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from claudex_tui.cli import parse
from claudex_tui.commands.firewall import render
from claudex_tui.config import ConfigError, load_config
from container import firewall, firewall_model
from container.allow_entries import normalize_entry
from container.errors import ClaudexError, UsageError


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("GitHub.com", "github.com"),
        ("*.example.org", "example.org"),
        ("pypi.org.", "pypi.org"),
        ("allowed.test", "allowed.test"),
        ("localhost", "localhost"),
        ("10.0.0.5", "10.0.0.5"),
        ("10.0.0.5/32", "10.0.0.5"),
        ("10.1.2.3/24", "10.1.2.0/24"),
        ("10.0.0.5:8080", "10.0.0.5:8080"),
        ("10.1.2.3/16:443", "10.1.0.0/16:443"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8::1/48", "2001:db8::/48"),
        ("[2001:db8::1]:443", "[2001:db8::1]:443"),
        ("[2001:db8::/32]:53", "[2001:db8::/32]:53"),
    ],
)
def test_normalize_entry(raw: str, want: str):
    assert normalize_entry(raw) == want


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "exa mple.com",
        "_dmarc.example.com",  # RFC 1123 host names have no '_'
        "example.com:443",
        "-bad.com",
        "bad-.com",
        "a" * 64 + ".com",
        "300.1.1.1",
        "10.0.0.5:0",
        "10.0.0.5:70000",
        "10.0.0.0/33",
        "[1.2.3.4]:80",
        "2001:db8::zz",
        "example.com/24",
        "http://example.com",
    ],
)
def test_bad_entries_are_refused_with_a_hint(raw: str):
    with pytest.raises(UsageError) as err:
        normalize_entry(raw)
    assert err.value.message


def test_merge_and_coverage():
    merged = firewall.merge_entries(["GitHub.com", "10.0.0.1"], ["github.com", "*.npmjs.org"])
    assert merged == ["github.com", "10.0.0.1", "npmjs.org"]
    assert firewall.covering_name("api.github.com", merged) == "github.com"
    assert firewall.covering_name("github.com", merged) == "github.com"
    assert firewall.covering_name("notgithub.com", merged) is None
    assert firewall.is_name("github.com") and not firewall.is_name("10.0.0.1")
    assert not firewall.is_name("10.0.0.0/8:443")
    assert firewall.start_env(["a.com", "A.com", "10.0.0.1:80"]) == "a.com,10.0.0.1:80"


def test_default_list_lets_the_agents_work():
    for name in (
        "claude.ai",
        "platform.claude.com",
        "console.anthropic.com",
        "statsig.anthropic.com",
        "auth.openai.com",
        "chatgpt.com",
        "sentry.io",
        "github.com",
        "api.github.com",
        "codeload.github.com",
        "objects.githubusercontent.com",
        "raw.githubusercontent.com",
        "registry.npmjs.org",
        "pypi.org",
        "files.pythonhosted.org",
        "deb.debian.org",
    ):
        assert firewall.covering_name(name, firewall.DEFAULT_ALLOW), name
    assert firewall.covering_name("api.anthropic.com", firewall.DEFAULT_ALLOW)
    assert firewall.covering_name("api.openai.com", firewall.DEFAULT_ALLOW)
    assert firewall.merge_entries(firewall.DEFAULT_ALLOW) == list(firewall.DEFAULT_ALLOW)


STATUS = """\
[mode]
enforcing
[checked]
rules ipsets dnsmasq resolv.conf
[now]
1795725798
[allow]
allowed.test
github.com
10.9.8.0/24:443
[fd00::1]:80
[sets]
allowed.test cx4-a1622ee3 cx6-a1622ee3
github.com cx4-49361819 cx6-49361819
[ipset]
add cx-blocked4 127.0.0.11,udp:44878 packets 2 bytes 114
add cx-blocked4 172.30.99.3,tcp:8000 packets 3 bytes 180
add cx-blocked6 fd00:cafe:99::3,tcp:8000 packets 1 bytes 80
add cx-blocked4 10.0.0.9,icmp:8/0 packets 1 bytes 84
add cx-last4 127.0.0.11,udp:44878 timeout 2147473
add cx-last4 172.30.99.3,tcp:8000 timeout 2147482
add cx-last6 fd00:cafe:99::3,tcp:8000 timeout 2147483
add cx-last4 10.0.0.9,icmp:8/0 timeout 2147400
add cx4-a1622ee3 172.30.99.2
add cx6-a1622ee3 fd00:cafe:99::2
more cx4-49361819 70
[rejected]
4 6
6 1
[refused]
claudex-refused 1
total 9
others 4
4 1795725798 blocked.test
1 1795725600 exfil.example
"""


def test_parse_status():
    st = firewall_model.parse_status("s1", STATUS)
    now = datetime.fromtimestamp(1795725798, UTC)
    assert st.mode == "enforcing" and st.reason == "" and st.checked == now
    assert [(n.name, n.addresses, n.more) for n in st.names] == [
        ("allowed.test", ("172.30.99.2", "fd00:cafe:99::2"), 0),
        ("github.com", (), 70),
    ]
    assert st.networks == ("10.9.8.0/24:443", "[fd00::1]:80")
    assert st.allow == ["allowed.test", "github.com", "10.9.8.0/24:443", "[fd00::1]:80"]
    first = st.blocked[0]  # most recent first
    assert (first.address, first.family, first.protocol, first.port, first.count) == (
        "fd00:cafe:99::3",
        6,
        "tcp",
        8000,
        1,
    )
    assert first.last == now and first.target == "[fd00:cafe:99::3]:8000"
    by_addr = {b.address: b for b in st.blocked}
    assert by_addr["172.30.99.3"].count == 3
    assert by_addr["172.30.99.3"].last == now.replace(second=now.second - 1)
    assert by_addr["127.0.0.11"].port == 53  # the DNAT'ed port is not what the agent asked
    assert by_addr["10.0.0.9"].port is None and by_addr["10.0.0.9"].protocol == "icmp"
    assert [(r.name, r.count) for r in st.refused] == [("blocked.test", 4), ("exfil.example", 1)]
    assert st.refused[0].last == now
    assert (st.refused_total, st.refused_others, st.rejected) == (9, 4, 7)
    data = st.as_json()
    assert data["mode"] == "enforcing"
    assert data["blocked"][0]["last"].startswith("2026-11-26T")
    assert data["refused_names"][0] == {
        "name": "blocked.test",
        "count": 4,
        "last": now.isoformat(timespec="seconds"),
    }
    assert (data["refused_total"], data["refused_other_names"], data["rejected_packets"]) == (
        9,
        4,
        7,
    )
    assert data["allowed"][1] == {"name": "github.com", "addresses": [], "more_addresses": 70}
    text = render(st)
    assert "172.30.99.3" in text and "blocked.test" in text and "10.9.8.0/24:443" in text
    assert "7 packets rejected in all" in text and "4 older names no longer kept" in text


def test_parse_status_failed_and_broken():
    st = firewall_model.parse_status("s", "[mode]\nfailed: cannot create the ipsets\n[now]\n0\n")
    assert (st.mode, st.reason) == ("failed", "cannot create the ipsets")
    assert "cannot create the ipsets" in render(st)
    broken = STATUS.replace(
        "[mode]\nenforcing\n",
        "[mode]\nbroken: IPv4 rules differ from what claudex applied: added '-P OUTPUT ACCEPT'\n",
    )
    st = firewall_model.parse_status("s", broken)
    assert st.mode == firewall_model.BROKEN and "'-P OUTPUT ACCEPT'" in st.reason
    text = render(st)
    assert "BROKEN: IPv4 rules differ" in text and "restart the session" in text
    assert "172.30.99.3" in text  # what is there is still shown


def test_status_of_an_image_without_the_live_check_says_so():
    old = STATUS.replace("[checked]\nrules ipsets dnsmasq resolv.conf\n", "")
    st = firewall_model.parse_status("s", old)
    assert st.mode == "enforcing" and "not checked against the live rules" in st.reason


def test_names_reach_no_terminal_raw():
    hostile = "\x1b]0;pwned\x07\x1b[2J\u202eevil\x85.example"
    assert firewall_model.printable(hostile) == "\\x1b]0;pwned\\x07\\x1b[2J\\u202eevil\\x85.example"
    text = STATUS.replace("exfil.example", hostile).replace("enforcing\n", f"broken: {hostile}\n")
    st = firewall_model.parse_status("s", text)
    shown = render(st) + str(st.as_json())
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in shown)
    assert "\u202e" not in shown and "\\u202eevil" in shown


def test_a_flood_renders_a_bounded_table():
    lines = [STATUS.split("[ipset]")[0] + "[ipset]"]
    for fam, base in ((4, "10.{}.{}.1"), (6, "fd00::{:x}:{:x}")):
        for i in range(firewall_model.BLOCK_MAX):
            member = base.format(i // 256, i % 256) + ",udp:53"
            lines.append(f"add cx-blocked{fam} {member} packets 3 bytes 180")
            lines.append(f"add cx-last{fam} {member} timeout {2147483 - i}")
    lines.append("[refused]\nclaudex-refused 1\ntotal 200000\nothers 199000")
    lines += [f"1 {1795725798 - i} q{i}.flood.example" for i in range(firewall_model.REFUSED_KEEP)]
    st = firewall_model.parse_status("s", "\n".join(lines) + "\n")
    assert (
        len(st.blocked) == 2 * firewall_model.BLOCK_MAX
        and len(st.refused) == firewall_model.REFUSED_KEEP
    )
    text = render(st)
    assert len(text.splitlines()) < 150
    assert "... 1998 more destinations" in text and "... 950 more names" in text
    assert "199000 older names no longer kept" in text


def test_project_allow_needs_confirmation_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    repo = tmp_path / "repo"
    repo.mkdir()
    assert firewall.read_project_allow([str(repo)]) == []
    (repo / ".claudex.toml").write_text('[firewall]\nallow = ["Example.com", "10.0.0.1:80"]\n')
    (found,) = firewall.read_project_allow([str(repo)])
    assert found.entries == ("example.com", "10.0.0.1:80")
    assert not firewall.is_trusted(found)
    firewall.trust(found)
    assert firewall.is_trusted(found)
    # A changed file must be confirmed again.
    (repo / ".claudex.toml").write_text('[firewall]\nallow = ["example.com", "evil.example"]\n')
    (changed,) = firewall.read_project_allow([str(repo)])
    assert not firewall.is_trusted(changed)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[firewall\n", "cannot be read"),
        ('[firewall]\nallow = "example.com"\n', "must be a list of strings"),
        ('[firewall]\nallow = ["not valid"]\n', "not a domain name"),
    ],
)
def test_bad_project_file(tmp_path: Path, text: str, message: str):
    (tmp_path / ".claudex.toml").write_text(text)
    with pytest.raises(ClaudexError) as err:
        firewall.read_project_allow([str(tmp_path)])
    assert message in err.value.message and ".claudex.toml" in err.value.message


def test_config_allow_entries_are_validated(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('allow = ["Example.com", "10.0.0.0/8"]\nallow_defaults = false\n')
    config = load_config(path)
    assert config.allow == ["example.com", "10.0.0.0/8"] and not config.allow_defaults
    path.write_text('allow = ["bad entry"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "allow" in err.value.message and "not a domain name" in err.value.message


def test_cli_arguments():
    _entry, ns = parse(["firewall", "status", "--format", "json"])
    assert (ns.action, ns.name, ns.format) == ("status", None, "json")
    _entry, ns = parse(["firewall", "allow", "s1", "a.com", "b.org"])
    assert (ns.action, ns.name, ns.entries) == ("allow", "s1", ["a.com", "b.org"])
    for argv in (["firewall"], ["firewall", "deny", "s1"], ["firewall", "open", "s1"]):
        with pytest.raises(UsageError):
            parse(argv)
