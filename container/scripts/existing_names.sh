#!/bin/bash
# Which of the names after $1 exist in directory $1 (links too), NUL-terminated; nothing when
# $1 is not a directory. The Files tab asks before a copy (container/transfer/common.py).
cd -- "$1" 2>/dev/null || exit 0
shift
for n; do if [ -e "$n" ] || [ -L "$n" ]; then printf '%s\0' "$n"; fi; done
