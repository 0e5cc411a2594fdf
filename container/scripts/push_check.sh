#!/bin/bash
# As the agent: is $1 a directory it can write (exit 10 missing, 11 not a directory, 12 not
# writable), and what already exists under each of the names that follow (find's type letter
# and path, NUL-terminated). container/transfer/push.py.
d=$1
shift
[ -e "$d" ] || exit 10
[ -d "$d" ] || exit 11
{ [ -w "$d" ] && [ -x "$d" ]; } || exit 12
cd -- "$d" || exit 12
for n; do
  if [ -e "$n" ] || [ -L "$n" ]; then find "./$n" -printf '%y\t%p\0' 2>/dev/null; fi
done
exit 0
