"""The broker's whole vocabulary: `start NAME` for a configured NAME, nothing else (no image,
no command, no option smuggled in a name), and a bounded line."""

from __future__ import annotations

import importlib.util

import pytest

from container.image import CONTEXT_DIR

# The broker runs it in its container, from claudex's own files in the image.
_spec = importlib.util.spec_from_file_location(
    "mcp_request", CONTEXT_DIR / "claudex" / "mcp_request.py"
)
assert _spec and _spec.loader
mcp_request = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mcp_request)
REQUEST_LIMIT, Refused, parse_request = (
    mcp_request.REQUEST_LIMIT,
    mcp_request.Refused,
    mcp_request.parse_request,
)

CONFIGURED = {"fetch", "docs_search"}


def test_a_configured_name_is_started() -> None:
    assert parse_request(b"start fetch\n", CONFIGURED) == "fetch"
    assert parse_request(b"start docs_search\n", CONFIGURED) == "docs_search"


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"start other\n", "not configured"),
        (b"start fetch", "newline"),
        (b"run fetch\n", "only `start NAME`"),
        (b"start\n", "only `start NAME`"),
        (b"start \n", "not a server name"),
        (b"start fetch --privileged\n", "not a server name"),
        (b"start ../fetch\n", "not a server name"),
        (b"start -fetch\n", "not a server name"),
        (b"start FETCH\n", "not a server name"),
        (b"start fetch\x00\n", "not a server name"),
        (b"start f\xc3\xa9tch\n", "not ASCII"),
        (b"start busybox:latest\n", "not a server name"),
        (b"start " + b"a" * REQUEST_LIMIT + b"\n", "too long"),
    ],
)
def test_anything_else_is_refused(line: bytes, why: str) -> None:
    with pytest.raises(Refused) as err:
        parse_request(line, CONFIGURED)
    assert why in str(err.value)
