#!/bin/sh
# Called by the agent's hooks (as the agent) when it waits for the user. The dashboard follows
# this file as the agent too (container/watch.py): nothing here is ever read by root.
f=/tmp/claudex/waiting
mkdir -p -m 0700 /tmp/claudex 2>/dev/null
# Kept small: the watcher only needs what was appended last.
[ -f "$f" ] && [ "$(wc -c <"$f" 2>/dev/null || echo 0)" -gt 65536 ] && : >"$f"
printf '%s %s\n' "$(date +%s)" "$(printf '%s' "${1:-notify}" | tr -cd '[:alnum:] _.-' | cut -c1-64)" \
  >>"$f" 2>/dev/null
exit 0
