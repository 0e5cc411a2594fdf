"""Run the claudex CLI so that it reports its own peak memory as it exits.

wait4's ru_maxrss is no good here: the child starts as a (v)fork of the measuring process
(pytest, a benchmark), and the kernel carries that process's size into the child's maximum
across exec. VmHWM read by the CLI itself is its own high-water mark only.
"""

from __future__ import annotations

import sys

_SNIPPET = (
    "import atexit, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write(f'\\nPEAK_KB={line.split()[1]}\\n')\n"
    "atexit.register(peak)\n"
    "from claudex_tui.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)

MEASURED_CLAUDEX = [sys.executable, "-c", _SNIPPET]


def split_peak(stderr: str) -> tuple[str, int]:
    """The CLI's own stderr, and its peak RSS in bytes."""
    err, marker, peak = stderr.rpartition("PEAK_KB=")
    if not marker:
        raise ValueError("the command did not report its peak memory")
    return err, int(peak.split()[0]) * 1024
