#!/bin/sh
# Called by agent hooks when the agent waits for the user; the dashboard watches this file.
mkdir -p /tmp/claudex 2>/dev/null
printf '%s %s\n' "$(date +%s)" "${1:-notify}" >> /tmp/claudex/waiting 2>/dev/null
exit 0
