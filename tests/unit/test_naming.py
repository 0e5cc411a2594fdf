"""Session identity must match the Go tool's exactly (vectors from ARCHITECTURE.md)."""

from __future__ import annotations

import pytest

from container.naming import (
    kebab,
    parallel_name,
    session_name,
    signature,
    slug,
    valid_container_name,
)


@pytest.mark.parametrize(
    ("dirs", "salt", "expected"),
    [
        (["/home/u/proj"], "", "b768fe2e"),
        (["/a", "/b"], "", "c9c85f71"),
        (["/b", "/a"], "", "c9c85f71"),  # order given does not matter
        (["/home/u/proj"], "pepper", "340e1884"),
    ],
)
def test_signature_vectors(dirs: list[str], salt: str, expected: str) -> None:
    assert signature(dirs, salt=salt) == expected


def test_salt_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDEX_NAME_SALT", "pepper")
    assert signature(["/home/u/proj"]) == "340e1884"


def test_slug_and_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDEX_NAME_PREFIX", raising=False)
    assert slug(["/home/u/My_Project"]) == "my-project"
    assert slug(["/x/zeta", "/x/alpha", "/x/beta"]) == "alpha-beta"
    assert len(slug(["/x/a-very-long-directory-name", "/x/b-another-long-one"])) <= 24
    assert not slug(["/x/a-very-long-directory-name", "/x/b"]).endswith("-")
    assert session_name(["/home/u/proj"]) == "claudex-proj-b768fe2e"
    monkeypatch.setenv("CLAUDEX_NAME_PREFIX", "team")
    assert session_name(["/home/u/proj"]) == "team-proj-b768fe2e"


def test_kebab() -> None:
    assert kebab("HelloWorld") == "hello-world"
    assert kebab("  weird__name!!v2 ") == "weird-name-v2"
    assert kebab("日本") == ""


def test_parallel_names_never_collide() -> None:
    assert parallel_name("claudex-p-1234abcd", []) == "claudex-p-1234abcd-2"
    taken = ["claudex-p-1234abcd", "claudex-p-1234abcd-2", "claudex-p-1234abcd-3"]
    assert parallel_name("claudex-p-1234abcd", taken) == "claudex-p-1234abcd-4"


def test_container_name_rule() -> None:
    assert valid_container_name("claudex-proj-b768fe2e")
    assert not valid_container_name("-bad")
    assert not valid_container_name("has space")
