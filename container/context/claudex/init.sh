#!/bin/bash
# PID 1's child (under docker's init): prepares the unprivileged agent user, applies the
# firewall (fail closed), starts the agent inside tmux, then idles. Runs on every start.
set -u

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

status "starting"

# The agent user mirrors the owner of the mounted directories, so its files belong to them.
if ! getent group "$gid" >/dev/null; then
  groupadd -o -g "$gid" agent 2>/dev/null || groupadd -o -g "$gid" "agent$gid" || fail "cannot create group $gid"
fi
if ! id -u agent >/dev/null 2>&1; then
  useradd -o -u "$uid" -g "$gid" -M -d "$home" -s /bin/bash agent || fail "cannot create user $uid"
fi
mkdir -p "$home" && chown "$uid:$gid" "$home" /workspace
install -d -o "$uid" -g "$gid" -m 0700 "$home/.config" 2>/dev/null || true
[ -e "$home/AGENTS.md" ] || ln -sf /etc/claudex/AGENTS.md "$home/AGENTS.md"
cp -n /etc/skel/.bashrc /etc/skel/.profile "$home/" 2>/dev/null && chown "$uid:$gid" "$home/.bashrc" "$home/.profile" 2>/dev/null

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
  shell) cmd='exec bash -l' ;;
  *) fail "unknown agent '$agent'" ;;
esac

as_agent() {
  setpriv --reuid="$uid" --regid="$gid" --init-groups --no-new-privs \
    --inh-caps=-all --bounding-set=-all \
    env HOME="$home" USER=agent LOGNAME=agent SHELL=/bin/bash "$@"
}

# A restart keeps /tmp: a tmux server from before is gone with its processes, its socket stale.
rm -rf "/tmp/tmux-$uid"
if ! as_agent tmux -f /etc/claudex/tmux.conf new-session -d -s agent -x 120 -y 40 \
      -c "${PWD:-/workspace}" "bash -lc '$cmd'"; then
  fail "the agent's tmux session did not start"
fi
status "ready"
idle
