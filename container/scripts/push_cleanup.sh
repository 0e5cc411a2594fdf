#!/bin/bash
# As the agent: removes the staged files of one unfinished push from $1: names starting with
# $2 (the push's staging prefix) and its manifest there, and staged files inside the pushed
# directories named after that. container/transfer/staging.py.
cd -- "$1" || exit 0
pattern=$2
shift 2
find . -maxdepth 1 \( -name "$pattern*" -o -name ".claudex-manifest-${pattern#.claudex-part-}" \) \
  -delete 2>/dev/null
for n; do [ -d "$n" ] && [ ! -L "$n" ] && find "./$n" -name "$pattern*" -delete 2>/dev/null; done
exit 0
