#!/bin/bash
# Bytes of file data under $1 (links not followed), for a pull's progress.
# container/transfer/pull.py.
find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}'
