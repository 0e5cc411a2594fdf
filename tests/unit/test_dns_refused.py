"""The refused-names aggregator of the session firewall (context/claudex/dns_refused.py).

It runs in the container as the DNS user; here it runs on the host's python with the same
input dnsmasq gives it, which is all it reads.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "container/context/claudex/dns_refused.py"
spec = importlib.util.spec_from_file_location("dns_refused", SCRIPT)
assert spec and spec.loader
dns_refused = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dns_refused)


def log(name: bytes, what: bytes = b"NXDOMAIN") -> bytes:
    return b"Nov 28 23:08:59 dnsmasq[52]: config " + name + b" is " + what + b"\n"


def run(tmp_path: Path, data: bytes) -> list[str]:
    summary = tmp_path / "refused"
    subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT), str(summary)],
        input=data,
        check=True,
        timeout=60,
    )
    return summary.read_text().splitlines()


def test_names_are_counted_escaped_and_kept_most_recent_first(tmp_path: Path):
    data = (
        b"Nov 28 23:08:59 dnsmasq[52]: query[A] foo.example from 127.0.0.1\n"
        + log(b"foo.example")
        + log(b"bar.example", b"NODATA-IPv6")
        + log(b"foo.example")
        + log(b"\x1b]0;x\x07 \\evil")
        + b"Nov 28 23:09:00 dnsmasq[52]: reply allowed.test is 10.0.0.1\n"
    )
    lines = run(tmp_path, data)
    assert lines[:3] == ["claudex-refused 1", "total 4", "others 0"]
    rows = [line.split(" ", 2) for line in lines[3:]]
    assert [(r[0], r[2]) for r in rows] == [
        ("1", "\\x1b]0;x\\x07\\x20\\x5cevil"),
        ("2", "foo.example"),
        ("1", "bar.example"),
    ]


def test_a_flood_keeps_a_bounded_summary(tmp_path: Path):
    n = 30_000
    data = b"".join(log(b"q%d.flood.example" % i) for i in range(n))
    data += log(b"x" * 5000) + b"y" * 100_000 + b"\n"  # over-long lines are dropped or cut
    lines = run(tmp_path, data)
    keep = dns_refused.KEEP
    assert lines[1:3] == [f"total {n + 1}", f"others {n + 1 - keep}"]
    assert len(lines) == 3 + keep
    assert lines[4].endswith(f" q{n - 1}.flood.example")  # most recent first
    assert all(len(line) < 300 for line in lines)
    # A restart goes on from the summary it left.
    lines = run(tmp_path, log(b"again.example"))
    assert lines[1:3] == [f"total {n + 2}", f"others {n + 2 - keep}"]
    assert lines[3].endswith(" again.example") and len(lines) == 3 + keep


def test_cap_and_escape():
    refused = dns_refused.Refused()
    for i in range(dns_refused.KEEP + 5):
        refused.add(f"n{i}", i)
    refused.add("n10", 9999)  # seen again: the most recent, kept
    assert len(refused.names) == dns_refused.KEEP and refused.others == 5
    assert "n10" in refused.names and "n4" not in refused.names
    assert dns_refused.escape(b"a" * 500).endswith("...")
    assert len(dns_refused.escape(b"\x00" * 500)) == dns_refused.NAME_MAX
