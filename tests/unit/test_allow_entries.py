"""Allow entries are split, checked and normalized one way (container.allow_entries)."""

from __future__ import annotations

from pathlib import Path

import pytest

from claudex_tui.cli import parse
from claudex_tui.config import Config, ConfigError, load_config
from claudex_tui.start_request import allow_list
from container import allow_entries, firewall
from container.errors import ClaudexError, UsageError


def test_split_only_on_commas_and_newlines():
    assert allow_entries.split_entries("not a domain") == ["not a domain"]
    assert allow_entries.split_entries(" a.com, b.org\nc.net,,\n") == ["a.com", "b.org", "c.net"]
    assert allow_entries.split_all(["a.com,b.org", "c.net"]) == ["a.com", "b.org", "c.net"]


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("Bücher.de", "xn--bcher-kva.de"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("*.Example.org.", "example.org"),
        ("  api.github.com ", "api.github.com"),
    ],
)
def test_names_are_normalized_to_punycode(raw: str, want: str):
    assert allow_entries.normalize_entry(raw) == want


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("not a domain", "contains a space"),
        ("a_b.example.com", "no '_'"),
        ("https://example.com", "without the scheme"),
        ("example.com/path", "without a path"),
        ("example.com:443", "port can be given for IP addresses only"),
        ("a..b", "empty label"),
        ("-a.com", "inner hyphens"),
        ("xn--zz.com", "not valid punycode"),
        ("☃.net", "not a valid international name"),
        ("a." * 130 + "com", "longer than 253"),
        ("bad;name", "not letters, digits"),
        ("[/prefix]", "without a path"),
        ("*", "not letters, digits"),
    ],
)
def test_bad_names_say_why(raw: str, why: str):
    with pytest.raises(UsageError) as err:
        allow_entries.normalize_entry(raw)
    assert why in err.value.message and repr(raw.strip()) in err.value.message
    assert err.value.hint


@pytest.mark.parametrize("name", ["com", "co.uk", "github.io", "t", "localhost", "xn--p1ai"])
def test_public_suffixes(name: str):
    assert allow_entries.is_public(name)


@pytest.mark.parametrize(
    "name",
    ["example.com", "foo.github.io", "api.anthropic.com", "allowed.test", "10.0.0.0/8"],
)
def test_not_public_suffixes(name: str):
    assert not allow_entries.is_public(name)


def test_no_default_entry_is_a_public_suffix():
    assert allow_entries.public_suffixes(firewall.DEFAULT_ALLOW) == []


def test_check_text_lists_everything_wrong_at_once():
    checked = allow_entries.check_text("not a domain, com, Example.com\nexample.com, a_b.org")
    assert checked.entries == ["com", "example.com"]
    assert [e.message.split()[0] for e in checked.invalid] == ["'not", "'a_b.org'"]
    assert checked.public == ["com"] and not checked.ok
    assert allow_entries.check_text("a.com, b.org").ok


def test_refuse_public_names_the_suffix_and_what_it_opens():
    with pytest.raises(UsageError) as err:
        allow_entries.refuse_public(["example.com", "co.uk"], "somewhere")
    message = err.value.message
    assert message.startswith("somewhere: refused: co.uk is a public suffix")
    assert "every host under it" in message
    allow_entries.refuse_public(["example.com", "10.0.0.1"])


def test_config_refuses_a_public_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = tmp_path / "claudex" / "config.toml"
    path.parent.mkdir()
    path.write_text('allow = ["example.com", "github.io"]\n')
    with pytest.raises(ConfigError) as err:
        load_config()
    assert "allow" in err.value.message and "github.io is a public suffix" in err.value.message
    path.write_text('allow = ["not a domain"]\n')
    with pytest.raises(ConfigError) as err:
        load_config()
    assert "contains a space" in err.value.message


def test_project_file_refuses_a_public_suffix(tmp_path: Path):
    (tmp_path / ".claudex.toml").write_text('[firewall]\nallow = ["api.example.com", "com"]\n')
    with pytest.raises(ClaudexError) as err:
        firewall.read_project_allow([str(tmp_path)])
    assert ".claudex.toml" in err.value.message and "com is a public suffix" in err.value.message


def test_start_allow_option_splits_and_refuses_a_public_suffix():
    config = Config(allow_defaults=False)
    assert allow_list(config, [], ["a.com,B.org", "c.net"]) == ["a.com", "b.org", "c.net"]
    with pytest.raises(UsageError) as err:
        allow_list(config, [], ["co.uk"])
    assert err.value.message.startswith("--allow: refused: co.uk is a public suffix")
    with pytest.raises(UsageError):
        allow_list(config, [], ["not a domain"])


def test_cli_allow_takes_force():
    _entry, ns = parse(["firewall", "allow", "s1", "com", "--force"])
    assert ns.force and ns.entries == ["com"]
    _entry, ns = parse(["firewall", "allow", "s1", "a.com"])
    assert not ns.force
