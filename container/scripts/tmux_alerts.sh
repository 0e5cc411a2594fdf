#!/bin/bash
# In a session AS THE AGENT (container/tmux_alerts.py): every $1 seconds, the bell flag and the
# last output time of each window of the agent's tmux, as one line "FLAG:TIME ..." printed only
# when it changed. The dashboard reads this instead of the output of terminals it does not
# show. Ends when its stdin ends (the dashboard's connection went; nothing is ever sent).
last=
while :; do
  read -r -t "$1" _
  status=$?
  if [ "$status" -le 128 ]; then exit 0; fi # end of input (or input: never sent)
  # A tmux that does not answer (the agent can stop its own) does not keep this running.
  now=$(timeout 5 tmux list-windows -t agent -F '#{window_bell_flag}:#{window_activity}' 2>/dev/null |
    head -c 2048 | tr '\n' ' ')
  if [ "$now" != "$last" ]; then
    printf '%s\n' "$now"
    last=$now
  fi
done
