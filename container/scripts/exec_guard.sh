#!/bin/bash
# Beside a TTY exec, as its user (container/exec_channel.py): waits for its stdin to end
# (nothing is ever sent), then hangs up every process whose environment holds the marker
# $1=$2 (the exec's program and what it started), as an SSH drop would; what ignores SIGHUP
# gets SIGKILL a second later. Reading /proc/PID/environ of other users fails and is skipped.
while IFS= read -r _; do :; done
want="$1=$2"
hangup() {
  found=1
  for p in /proc/[0-9]*; do
    { while IFS= read -r -d '' var; do
        if [ "$var" = "$want" ]; then kill -"$1" "${p#/proc/}" && found=0; break; fi
      done < "$p/environ"; } 2>/dev/null
  done
  return $found
}
hangup HUP || exit 0
sleep 1
hangup KILL
exit 0
