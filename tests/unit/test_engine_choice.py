"""Engines from the config, the environment and docker contexts; failures never raise."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from claudex_tui.config import ConfigError, EngineConfig, load_config
from container.engines import available_engines, find_engine, list_all
from container.errors import UsageError


def test_config_engines_follow_the_default_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    engines = available_engines(
        {
            "box": EngineConfig(host="ssh://u@box"),
            "tls": EngineConfig(host="tcp://h:2376", tls_verify=True),
        }
    )
    assert [(e.name, e.source) for e in engines][:3] == [
        ("default", "default"),
        ("box", "config"),
        ("tls", "config"),
    ]
    assert engines[2].uses_tls and not engines[1].uses_tls


def test_docker_host_is_the_default_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/elsewhere.sock")
    (default,) = [e for e in available_engines() if e.name == "default"]
    assert default.source == "env" and default.host == "unix:///tmp/elsewhere.sock"


def test_docker_contexts_are_offered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The layout the docker CLI writes for `docker context create box --docker host=...`.
    (tmp_path / "config.json").write_text("{}")
    meta = tmp_path / "contexts" / "meta" / hashlib.sha256(b"box").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps(
            {
                "Name": "box",
                "Metadata": {},
                "Endpoints": {"docker": {"Host": "tcp://box:2375", "SkipTLSVerify": False}},
            }
        )
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    box = find_engine("box", available_engines())
    assert box.source == "context" and box.host == "tcp://box:2375"
    # The config may name the same engine: then the context is not listed a second time.
    named = available_engines({"mine": EngineConfig(host="tcp://box:2375")})
    assert [e.name for e in named if e.host == "tcp://box:2375"] == ["mine"]


def test_unknown_engine_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown engine 'nope' \(known: default, a\)"):
        find_engine("nope", available_engines({"a": EngineConfig(host="unix:///x")}))


def test_a_dead_engine_is_an_entry_not_an_exception() -> None:
    engines = available_engines({"gone": EngineConfig(host="unix:///nonexistent/claudexme.sock")})
    gone = find_engine("gone", engines)
    start = time.monotonic()
    (listing,) = list_all([gone])
    assert time.monotonic() - start < 5
    assert listing.sessions is None and listing.error is not None
    assert "engine gone is not reachable at unix:///nonexistent/claudexme.sock" in str(
        listing.error
    )


def test_bad_engine_entry_names_the_key(tmp_path: Path) -> None:
    conf = tmp_path / "config.toml"
    conf.write_text('[engines.box]\nhost = "http://box"\n')
    with pytest.raises(ConfigError, match=r"engines\.box\.host: .*not an engine address"):
        load_config(conf)
    conf.write_text('[engines.box]\nhost = "ssh://box"\ntls = true\n')
    with pytest.raises(ConfigError, match=r"engines\.box\.tls: Extra inputs"):
        load_config(conf)
    conf.write_text('[engines."bad name"]\nhost = "ssh://box"\n')
    with pytest.raises(ConfigError, match=r"engines: .*not an engine name"):
        load_config(conf)
