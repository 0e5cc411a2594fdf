#!/bin/bash -p
# PID 1's child (under docker's init): prepares the unprivileged agent user, applies the
# firewall (fail closed), starts the agent inside tmux, then idles. Runs on every start.
#
# Runs as root while the agent's home and /tmp hold whatever the agent left there (links to
# root's files, FIFOs, hard links): root only works in root-owned directories here; everything
# inside the agent's home and /tmp is done AS THE AGENT (`as_agent`). See ../README.md.
set -u
umask 022
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

RUN_DIR=/run/claudex
mkdir -p "$RUN_DIR" && chmod 0755 "$RUN_DIR"

status() { printf '%s\n' "$*" >"$RUN_DIR/status"; echo "claudex-init: $*"; }

idle() {
  trap 'exit 0' TERM INT
  while :; do sleep 86400 & wait $!; done
}

fail() {
  status "failed: $*"
  idle
}

uid=${CLAUDEX_AGENT_UID:-1000}
gid=${CLAUDEX_AGENT_GID:-$uid}
agent=${CLAUDEX_AGENT:-claude}
home=/home/agent

case "$uid$gid" in *[!0-9]*|"") fail "bad agent uid/gid '$uid:$gid'" ;; esac
[ "$uid" -ne 0 ] || fail "refusing to run the agent as root (uid 0)"
[ "$gid" -ne 0 ] || gid=$uid  # never root's group (sessions made before the host saw to it)

status "starting"

# The agent user mirrors the owner of the mounted directories, so its files belong to them.
if ! getent group "$gid" >/dev/null; then
  groupadd -o -g "$gid" agent 2>/dev/null || groupadd -o -g "$gid" "agent$gid" || fail "cannot create group $gid"
fi
if ! id -u agent >/dev/null 2>&1; then
  useradd -o -u "$uid" -g "$gid" -M -d "$home" -s /bin/bash agent || fail "cannot create user $uid"
fi

as_agent() {
  setpriv --reuid="$uid" --regid="$gid" --init-groups --no-new-privs \
    --inh-caps=-all --bounding-set=-all \
    env HOME="$home" USER=agent LOGNAME=agent SHELL=/bin/bash "$@"
}

# Claudex's own files (the host compares them with the image before every start; this is
# defence in depth): root-owned, nobody else may write them, contents as built.
own_files_changed() {
  local found
  found=$(find /usr/local/lib/claudex /etc/claudex /etc/claude-code \
    \( ! -user 0 -o ! -group 0 -o \( ! -type l -perm /022 \) \) -print 2>&1 | head -n 3)
  [ -z "$found" ] || { echo "not root's alone: $found" | tr '\n' ' '; return 0; }
  found=$(cd / && sha256sum --quiet --strict -c "$MANIFEST" 2>&1 | head -n 3)
  [ -z "$found" ] || { echo "$found" | tr '\n' ' '; return 0; }
  return 1
}
MANIFEST=/usr/local/lib/claudex/files.sha256
if [ -f "$MANIFEST" ] && reason=$(own_files_changed); then
  fail "claudex's own files in this session were changed ($reason); recreate it with \`claudex --replace\`"
fi

# /home and / are root's, so these two paths cannot be links the agent planted; -h anyway.
mkdir -p "$home" && chown -h "$uid:$gid" "$home" /workspace
# Inside the home, as the agent: a link it planted leads only where it could already write.
as_agent sh -c '
  mkdir -p -m 0700 "$HOME/.config"
  [ -e "$HOME/AGENTS.md" ] || [ -L "$HOME/AGENTS.md" ] || ln -s /etc/claudex/AGENTS.md "$HOME/AGENTS.md"
  cp -n /etc/skel/.bashrc /etc/skel/.profile "$HOME/"
' 2>/dev/null

# Firewall: applied and verified before the agent exists, or the agent is never started.
if [ "${CLAUDEX_FIREWALL:-off}" = "on" ]; then
  if [ ! -x /usr/local/lib/claudex/firewall.sh ]; then
    fail "firewall requested but this image has no firewall; rebuild it with \`claudex build\`"
  fi
  if ! reason=$(/usr/local/lib/claudex/firewall.sh apply 2>&1); then
    fail "firewall could not be applied: $(printf '%s' "$reason" | tail -n 3 | tr '\n' ' ')"
  fi
fi

case "$agent" in
  claude) cmd='claude; exec bash -l' ;;
  codex) cmd='codex -c notify="[\"/usr/local/lib/claudex/notify.sh\",\"codex\"]"; exec bash -l' ;;
  gemini) cmd='gemini; exec bash -l' ;;
  copilot) cmd='copilot; exec bash -l' ;;
  opencode) cmd='opencode; exec bash -l' ;;
  shell) cmd='exec bash -l' ;;
  *) fail "unknown agent '$agent'" ;;
esac

# A restart keeps /tmp: a tmux server from before is gone with its processes, its socket stale.
# The agent's to remove (it may have made it a link to anywhere).
as_agent rm -rf "/tmp/tmux-$uid"
if ! as_agent tmux -f /etc/claudex/tmux.conf new-session -d -s agent -x 120 -y 40 \
      -c "${PWD:-/workspace}" "bash -lc '$cmd'"; then
  fail "the agent's tmux session did not start"
fi
status "ready"
idle
