#!/bin/bash
# The session firewall, inside the container's own network namespace (never the host's).
#
#   firewall.sh apply            at every container start (init.sh): everything, then verify
#   firewall.sh allow ENTRY...   live edits (docker exec as root): kept in the allow file,
#   firewall.sh deny ENTRY...    effective at once, no restart of the session or the agent
#   firewall.sh status           raw state for container/firewall.py to parse
#
# Design: default-deny filter tables (IPv4 and IPv6) loaded atomically by iptables-restore;
# the nat table is never touched (Docker's embedded DNS lives there). Names resolve only
# through a dnsmasq running as its own uid, which forwards just the allowed names and puts
# each answer's addresses into a per-name ipset (list:set cx-allow4/6) before replying.
# Rejected packets land in cx-blocked4/6 (hash:ip,port with counters; a timeout that is
# refreshed on every hit dates the last one). Refused names are in dnsmasq's query log.
set -euo pipefail
export LC_ALL=C

CONF_DIR=/etc/claudex/firewall         # root-owned, kept across restarts (container fs)
ALLOW_FILE=$CONF_DIR/allow
UPSTREAM_FILE=$CONF_DIR/upstream
RUN_DIR=/run/claudex/fw                # per start (tmpfs)
STATE_FILE=/run/claudex/firewall       # enforcing | failed: why
LOG_DIR=/var/log/claudex
DNS_LOG=$LOG_DIR/dns.log
DNS_USER=claudex-dns
MAX_NAMES=120                          # two ipsets per name; the kernel allows 256 sets
BLOCK_TIMEOUT=2147483                  # ipset's maximum; remaining time dates the last hit
RESOLV_MARK="# claudex firewall: names resolve only through the local dnsmasq"

die() { echo "firewall: $*" >&2; exit 1; }

# -- entries ---------------------------------------------------------------------------------

domains=() nets4=() nets6=()

# Split the allow file into names and IP[/prefix][:port] entries (validated on the host too;
# checked again here because this runs as root).
read_entries() {
  domains=() nets4=() nets6=()
  local line
  [ -f "$ALLOW_FILE" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    line=${line//[[:space:]]/}
    [ -n "$line" ] || continue
    classify "$line" || die "bad allow entry '$line'"
  done <"$ALLOW_FILE"
  [ "${#domains[@]}" -le "$MAX_NAMES" ] || die "too many allowed names (at most $MAX_NAMES)"
}

classify() {
  local e=$1 v4='([0-9]{1,3}\.){3}[0-9]{1,3}(/[0-9]{1,2})?'
  if [[ $e =~ ^$v4(:[0-9]{1,5})?$ ]]; then
    nets4+=("$e")
  elif [[ $e =~ ^\[[0-9a-fA-F:.]+(/[0-9]{1,3})?\]:[0-9]{1,5}$ || $e =~ ^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(/[0-9]{1,3})?$ ]]; then
    nets6+=("$e")
  elif [[ $e =~ ^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$ ]]; then
    domains+=("$e")
  else
    return 1
  fi
}

# Stable per-name set suffix (FNV-1a, pure bash: no process per name).
name_hash() {
  local s=$1 h=2166136261 i c
  for ((i = 0; i < ${#s}; i++)); do
    printf -v c '%d' "'${s:i:1}"
    h=$(((h ^ c) * 16777619 & 0xffffffff))
  done
  printf -v REPLY '%08x' "$h"
}

# -- pieces ----------------------------------------------------------------------------------

dns_uid() {
  # Its own uid, never the agent's (useradd -o lets the agent take any uid, even dnsmasq's).
  local uid
  if uid=$(id -u "$DNS_USER" 2>/dev/null); then echo "$uid"; return; fi
  uid=65533
  [ "$uid" != "${CLAUDEX_AGENT_UID:-}" ] || uid=65532
  useradd -r -o -M -u "$uid" -g nogroup -d /nonexistent -s /usr/sbin/nologin "$DNS_USER" \
    || die "cannot create the $DNS_USER user"
  echo "$uid"
}

# The resolvers Docker gave the container, remembered before resolv.conf points at dnsmasq.
upstreams=()
upstream_servers() {
  if ! grep -qF "$RESOLV_MARK" /etc/resolv.conf 2>/dev/null; then
    awk '$1 == "nameserver" && $2 !~ /^127\.0\.0\.1$|^::1$/ { print $2 }' /etc/resolv.conf \
      >"$UPSTREAM_FILE.tmp" && mv "$UPSTREAM_FILE.tmp" "$UPSTREAM_FILE"
  fi
  [ -s "$UPSTREAM_FILE" ] || die "no upstream DNS server in /etc/resolv.conf"
  mapfile -t upstreams <"$UPSTREAM_FILE"
}

ipsets() {
  local d
  {
    echo "create cx-allow4 list:set size 256"
    echo "create cx-allow6 list:set size 256"
    echo "create cx-blocked4 hash:ip,port family inet counters timeout $BLOCK_TIMEOUT"
    echo "create cx-blocked6 hash:ip,port family inet6 counters timeout $BLOCK_TIMEOUT"
    for d in "${domains[@]}"; do
      name_hash "$d"
      echo "create cx4-$REPLY hash:ip family inet"
      echo "create cx6-$REPLY hash:ip family inet6"
      echo "add cx-allow4 cx4-$REPLY"
      echo "add cx-allow6 cx6-$REPLY"
    done
  } | ipset restore -exist || die "cannot create the ipsets"
}

# Sets of names no longer allowed: out of the lists, then gone (after dnsmasq forgot them).
drop_stale_sets() {
  local keep=" " d s
  for d in "${domains[@]}"; do name_hash "$d"; keep+="cx4-$REPLY cx6-$REPLY "; done
  for s in $(ipset list -n | grep -E '^cx[46]-[0-9a-f]{8}$' || true); do
    [[ $keep == *" $s "* ]] && continue
    ipset del "cx-allow${s:2:1}" "$s" -exist 2>/dev/null || true
    ipset destroy "$s" || die "cannot remove set $s"
  done
}

# net[:port] -> iptables match arguments, once per protocol when a port is given.
static_rules() {
  local fam=$1 e net port
  shift
  for e in "$@"; do
    port=
    if [ "$fam" = 6 ]; then
      if [[ $e == \[* ]]; then net=${e#[}; net=${net%%]*}; port=${e##*]:}; else net=$e; fi
    else
      net=${e%%:*}; [[ $e == *:* ]] && port=${e##*:}
    fi
    if [ -n "$port" ]; then
      echo "-A OUTPUT -d $net -p tcp --dport $port -j ACCEPT"
      echo "-A OUTPUT -d $net -p udp --dport $port -j ACCEPT"
    else
      echo "-A OUTPUT -d $net -j ACCEPT"
    fi
  done
}

inbound_rules() {
  # Ports the user published for the session (CLAUDEX_PUBLISH="8080 5353/udp").
  local p
  for p in ${CLAUDEX_PUBLISH:-}; do
    case "$p" in
      */udp) echo "-A INPUT -p udp --dport ${p%/udp} -j ACCEPT" ;;
      *) echo "-A INPUT -p tcp --dport ${p%/tcp} -j ACCEPT" ;;
    esac
  done
}

rules() {
  local fam=$1 uid=$2 up t tcp_rej=tcp-reset other_rej
  shift 2
  if [ "$fam" = 4 ]; then other_rej=icmp-port-unreachable; else other_rej=icmp6-port-unreachable; fi
  cat <<EOF
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
:CX-BLOCK - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
EOF
  if [ "$fam" = 6 ]; then  # neighbour discovery: IPv6 cannot work without it
    for t in 133 134 135 136; do echo "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type $t -j ACCEPT"; done
  fi
  inbound_rules
  echo "-A INPUT -p tcp -j REJECT --reject-with $tcp_rej"
  echo "-A INPUT -j REJECT --reject-with $other_rej"
  if [ "$fam" = 4 ]; then
    # Docker's resolver (DNAT'ed to 127.0.0.11:<random>): dnsmasq's uid only, and this
    # must come before the general loopback accept.
    echo "-A OUTPUT -d 127.0.0.11/32 -m owner --uid-owner $uid -j ACCEPT"
    echo "-A OUTPUT -d 127.0.0.11/32 -j CX-BLOCK"
  fi
  echo "-A OUTPUT -o lo -j ACCEPT"
  # Replies on connections someone else opened (only those INPUT let in).
  echo "-A OUTPUT -m conntrack --ctdir REPLY -j ACCEPT"
  for up in "$@"; do
    [ "$up" = 127.0.0.11 ] && continue
    echo "-A OUTPUT -d $up -p udp --dport 53 -m owner --uid-owner $uid -j ACCEPT"
    echo "-A OUTPUT -d $up -p tcp --dport 53 -m owner --uid-owner $uid -j ACCEPT"
  done
  if [ "$fam" = 6 ]; then
    for t in 133 134 135 136 143; do  # neighbour discovery, multicast listener reports
      echo "-A OUTPUT -p ipv6-icmp -m icmp6 --icmpv6-type $t -j ACCEPT"
    done
    static_rules 6 "${nets6[@]}"
  else
    static_rules 4 "${nets4[@]}"
  fi
  # Established flows are checked too, so a deny also cuts connections already open.
  echo "-A OUTPUT -m set --match-set cx-allow$fam dst -j ACCEPT"
  echo "-A OUTPUT -j CX-BLOCK"
  cat <<EOF
-A CX-BLOCK -j SET --add-set cx-blocked$fam dst,dst --exist
-A CX-BLOCK -m set --match-set cx-blocked$fam dst,dst
-A CX-BLOCK -p tcp -j REJECT --reject-with $tcp_rej
-A CX-BLOCK -j REJECT --reject-with $other_rej
COMMIT
EOF
}

# A kernel without IPv6 has no IPv6 traffic to filter (nor ip6tables tables to load).
have_ipv6() { [ -e /proc/net/if_inet6 ]; }

load_rules() {
  local uid=$1 up4=() up6=() up
  shift
  for up in "$@"; do if [[ $up == *:* ]]; then up6+=("$up"); else up4+=("$up"); fi; done
  rules 4 "$uid" "${up4[@]}" | iptables-restore -w 5 || die "iptables-restore (IPv4) failed"
  have_ipv6 || return 0
  rules 6 "$uid" "${up6[@]}" | ip6tables-restore -w 5 || die "ip6tables-restore (IPv6) failed"
}

dnsmasq_conf() {
  local uid=$1 d up
  shift
  cat <<EOF
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=127.0.0.1
port=53
user=$DNS_USER
group=nogroup
pid-file=$RUN_DIR/dnsmasq.pid
cache-size=2000
log-queries
log-facility=$DNS_LOG
# Every name not forwarded below does not exist.
address=/#/
EOF
  for d in "${domains[@]}"; do
    name_hash "$d"
    for up in "$@"; do echo "server=/$d/$up"; done
    echo "ipset=/$d/cx4-$REPLY,cx6-$REPLY"
  done
}

restart_dnsmasq() {
  local pid i
  if [ -s "$RUN_DIR/dnsmasq.pid" ] && pid=$(cat "$RUN_DIR/dnsmasq.pid") && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.005; done
  fi
  # dnsmasq returns once it listens (or with the reason it cannot).
  dnsmasq --conf-file="$RUN_DIR/dnsmasq.conf" || die "dnsmasq did not start"
}

write_resolv_conf() {
  local want
  want="$RESOLV_MARK
nameserver 127.0.0.1
options ndots:0"
  # In place: /etc/resolv.conf is a bind mount from Docker. Root-owned, 0644.
  if [ "$(cat /etc/resolv.conf)" != "$want" ]; then
    printf '%s\n' "$want" >/etc/resolv.conf || die "cannot write /etc/resolv.conf"
  fi
  chown root:root /etc/resolv.conf && chmod 0644 /etc/resolv.conf
}

verify() {
  local uid=$1 fam out
  for fam in 4 6; do
    [ "$fam" = 6 ] && ! have_ipv6 && continue
    if [ "$fam" = 4 ]; then out=$(iptables -w 5 -S); else out=$(ip6tables -w 5 -S); fi
    grep -qx -- '-P OUTPUT DROP' <<<"$out" || die "IPv$fam OUTPUT policy is not DROP"
    grep -qx -- '-P INPUT DROP' <<<"$out" || die "IPv$fam INPUT policy is not DROP"
    grep -qx -- "-A OUTPUT -j CX-BLOCK" <<<"$out" || die "IPv$fam reject rule missing"
  done
  kill -0 "$(cat "$RUN_DIR/dnsmasq.pid")" 2>/dev/null || die "dnsmasq is not running"
  [ "$(stat -c %u /proc/"$(cat "$RUN_DIR/dnsmasq.pid")")" = "$uid" ] \
    || die "dnsmasq does not run as $DNS_USER"
}

# A process of another uid must not reach Docker's resolver (it listens on TCP too, so a
# connection that succeeds proves a hole). Its own rejected attempt is then forgotten.
probe() {
  if setpriv --reuid=65534 --regid=65534 --clear-groups \
      timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.11/53' 2>/dev/null; then
    die "an unprivileged process reached Docker's DNS at 127.0.0.11"
  fi
  ipset save cx-blocked4 | awk '$1 == "add" && $3 ~ /^127\.0\.0\.11,/ { print "del", $2, $3 }' \
    | ipset restore -exist
}

# -- commands --------------------------------------------------------------------------------

reconcile() {
  local mode=$1 uid
  read_entries
  uid=$(dns_uid)
  upstream_servers
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  chmod 0755 "$RUN_DIR" "$LOG_DIR"
  ipsets
  load_rules "$uid" "${upstreams[@]}"
  if [ "$mode" = apply ] && [ -f "$DNS_LOG" ] && [ "$(stat -c %s "$DNS_LOG")" -gt 4000000 ]; then
    tail -n 20000 "$DNS_LOG" >"$DNS_LOG.tmp" && mv "$DNS_LOG.tmp" "$DNS_LOG"
  fi
  touch "$DNS_LOG" && chown "$uid" "$DNS_LOG" && chmod 0640 "$DNS_LOG"
  dnsmasq_conf "$uid" "${upstreams[@]}" >"$RUN_DIR/dnsmasq.conf"
  restart_dnsmasq
  drop_stale_sets
  write_resolv_conf
  verify "$uid"
  [ "$mode" = apply ] && probe
  echo enforcing >"$STATE_FILE"
}

seed() {
  # First start: the list the session was created with. Later starts keep live edits.
  install -d -m 0755 -o root -g root "$CONF_DIR"
  if [ ! -f "$ALLOW_FILE" ]; then
    printf '%s\n' ${CLAUDEX_ALLOW//,/ } | sed '/^$/d' >"$ALLOW_FILE.tmp"
    chmod 0644 "$ALLOW_FILE.tmp" && mv "$ALLOW_FILE.tmp" "$ALLOW_FILE"
  fi
}

edit() {
  local op=$1 e tmp changed=0
  shift
  [ -f "$STATE_FILE" ] && [ "$(cat "$STATE_FILE")" = enforcing ] \
    || die "the firewall is not enforcing in this session"
  for e in "$@"; do classify "$e" || die "bad allow entry '$e'"; done
  tmp=$ALLOW_FILE.tmp
  cp "$ALLOW_FILE" "$tmp"
  for e in "$@"; do
    if [ "$op" = allow ]; then
      grep -qxF -- "$e" "$tmp" || { echo "$e" >>"$tmp"; changed=1; }
    elif grep -qxF -- "$e" "$tmp"; then
      grep -vxF -- "$e" "$tmp" >"$tmp.2" || true
      mv "$tmp.2" "$tmp"
      changed=1
    else
      echo "not allowed: $e" >&2
    fi
  done
  chmod 0644 "$tmp" && mv "$tmp" "$ALLOW_FILE"
  [ "$changed" = 1 ] || return 0
  reconcile edit
}

status() {
  local now
  now=$(date +%s)
  echo "[mode]"
  cat "$STATE_FILE" 2>/dev/null || echo "off"
  echo "[now]"
  echo "$now"
  echo "[allow]"
  cat "$ALLOW_FILE" 2>/dev/null || true
  echo "[sets]"
  read_entries 2>/dev/null || true
  local d
  for d in "${domains[@]}"; do name_hash "$d"; echo "$d cx4-$REPLY cx6-$REPLY"; done
  echo "[ipset]"
  ipset save 2>/dev/null | grep -E '^add cx(4|6|-blocked4|-blocked6)[- ]' || true
  echo "[dns]"
  # Refused names: count and time of the last refusal (dnsmasq's syslog-style stamp).
  [ -f "$DNS_LOG" ] && awk '$5 == "config" && $7 == "is" && $8 ~ /NXDOMAIN|NODATA/ {
      n[$6]++; last[$6] = $1 " " $2 " " $3 }
    END { for (k in n) print k, n[k], last[k] }' "$DNS_LOG"
  true
}

cmd=${1:-}
shift || true
case "$cmd" in
  apply)
    exec 9>/run/claudex/firewall.lock && flock -w 10 9
    seed
    set +e
    out=$(set -e; reconcile apply 2>&1)
    rc=$?
    set -e
    if [ "$rc" != 0 ]; then
      echo "failed: $(tail -n 1 <<<"${out:-exit code $rc}")" >"$STATE_FILE"
      echo "$out" >&2
      exit 1
    fi
    ;;
  allow | deny)
    [ $# -gt 0 ] || die "usage: firewall.sh $cmd ENTRY..."
    exec 9>/run/claudex/firewall.lock && flock -w 10 9
    edit "$cmd" "$@"
    ;;
  status) status ;;
  *) die "usage: firewall.sh apply|allow|deny|status" ;;
esac
