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
# Rejected packets are counted per address/protocol/port in cx-blocked4/6 and dated in
# cx-last4/6 (a timeout refreshed on every hit). Refused names are in dnsmasq's query log.
#
# It runs before every agent start, so it avoids processes where a bash builtin does
# (session start budget: +300 ms for the firewall, on slow shared machines too).
set -euo pipefail
export LC_ALL=C
umask 022

CONF_DIR=/etc/claudex/firewall         # root-owned, kept across restarts (container fs)
ALLOW_FILE=$CONF_DIR/allow
UPSTREAM_FILE=$CONF_DIR/upstream
RUN_DIR=/run/claudex                   # per start (the engine's tmpfs)
STATE_FILE=$RUN_DIR/firewall           # enforcing | failed: why
SETS_FILE=$RUN_DIR/firewall-sets
DNS_CONF=$RUN_DIR/dnsmasq.conf
DNS_PID=$RUN_DIR/dnsmasq.pid
DNS_LOG=/var/log/claudex-dns.log       # kept across restarts; dnsmasq's own, mode 0640
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

# Per-name set numbers ("id name" lines), per start like the sets themselves: stable while
# a name stays allowed, so live edits never disturb the sets of the other names.
declare -A set_id=()
next_id=1
load_set_ids() {
  local id name
  [ -f "$SETS_FILE" ] || return 0
  while read -r id name; do
    set_id[$name]=$id
    if [ "$id" -ge "$next_id" ]; then next_id=$((id + 1)); fi
  done <"$SETS_FILE"
}

assign_set_ids() {
  local d
  for d in "${domains[@]}"; do
    if [ -z "${set_id[$d]:-}" ]; then set_id[$d]=$next_id; next_id=$((next_id + 1)); fi
  done
  for d in "${domains[@]}"; do echo "${set_id[$d]} $d"; done >"$SETS_FILE"
}

# -- pieces ----------------------------------------------------------------------------------

# dnsmasq's own uid, never the agent's (init.sh's `useradd -o` gives the agent any uid it
# needs, even dnsmasq's 999). Sets DNS_UID. Builtins only: this runs at every start.
dns_uid() {
  local name x uid
  while IFS=: read -r name x uid x; do
    [ "$name" = "$DNS_USER" ] && { DNS_UID=$uid; return; }
  done </etc/passwd
  DNS_UID=65533
  [ "$DNS_UID" != "${CLAUDEX_AGENT_UID:-}" ] || DNS_UID=65532
  # A system user without login or home; useradd would cost ~60 ms of session start.
  printf '%s:x:%s:65534:claudex firewall DNS:/nonexistent:/usr/sbin/nologin\n' \
    "$DNS_USER" "$DNS_UID" >>/etc/passwd || die "cannot create the $DNS_USER user"
}

# The resolvers Docker gave the container, remembered before resolv.conf points at dnsmasq.
upstreams=()
upstream_servers() {
  local lines=() line found=()
  mapfile -t lines </etc/resolv.conf
  if [ "${lines[0]:-}" = "$RESOLV_MARK" ]; then
    [ -s "$UPSTREAM_FILE" ] || die "no upstream DNS server remembered in $UPSTREAM_FILE"
    mapfile -t upstreams <"$UPSTREAM_FILE"
    return
  fi
  for line in "${lines[@]}"; do
    line=${line//[[:space:]]/ }
    [[ $line =~ ^\ *nameserver\ +([^ ]+) ]] || continue
    case "${BASH_REMATCH[1]}" in 127.0.0.1 | ::1) ;; *) found+=("${BASH_REMATCH[1]}") ;; esac
  done
  [ "${#found[@]}" -gt 0 ] || die "no upstream DNS server in /etc/resolv.conf"
  printf '%s\n' "${found[@]}" >"$UPSTREAM_FILE"
  upstreams=("${found[@]}")
}

ipsets() {
  local d
  {
    echo "create cx-allow4 list:set size 256"
    echo "create cx-allow6 list:set size 256"
    echo "create cx-blocked4 hash:ip,port family inet counters"
    echo "create cx-blocked6 hash:ip,port family inet6 counters"
    echo "create cx-last4 hash:ip,port family inet timeout $BLOCK_TIMEOUT"
    echo "create cx-last6 hash:ip,port family inet6 timeout $BLOCK_TIMEOUT"
    for d in "${domains[@]}"; do
      echo "create cx4-${set_id[$d]} hash:ip family inet"
      echo "create cx6-${set_id[$d]} hash:ip family inet6"
      echo "add cx-allow4 cx4-${set_id[$d]}"
      echo "add cx-allow6 cx6-${set_id[$d]}"
    done
  } | ipset restore -exist || die "cannot create the ipsets"
}

# Sets of names no longer allowed: out of the lists, then gone (after dnsmasq forgot them).
drop_stale_sets() {
  local keep=" " d s
  for d in "${domains[@]}"; do keep+="cx4-${set_id[$d]} cx6-${set_id[$d]} "; done
  for s in "${existing_sets[@]}"; do
    [[ $s =~ ^cx[46]-[0-9]+$ ]] || continue
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
  printf '%s\n' "*filter" ":INPUT DROP [0:0]" ":FORWARD DROP [0:0]" ":OUTPUT DROP [0:0]" \
    ":CX-BLOCK - [0:0]" ":CX-REJECT - [0:0]" "-A INPUT -i lo -j ACCEPT" \
    "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
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
  # Docker's embedded DNS forwards names it does not know to the host's resolvers from
  # sockets the engine (uid 0) opens in this namespace; only that resolver path is root's
  # here (the agent is never root, and cannot reach 127.0.0.11 at all).
  echo "-A OUTPUT -p udp --dport 53 -m owner --uid-owner 0 -j ACCEPT"
  echo "-A OUTPUT -p tcp --dport 53 -m owner --uid-owner 0 -j ACCEPT"
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
  # Record, then reject at once. A match counts a known destination; adding a new one
  # counts it as 1 (adding again would reset its counter, hence the separate dating set).
  printf '%s\n' "-A CX-BLOCK -j SET --add-set cx-last$fam dst,dst --exist" \
    "-A CX-BLOCK -m set --match-set cx-blocked$fam dst,dst -j CX-REJECT" \
    "-A CX-BLOCK -j SET --add-set cx-blocked$fam dst,dst" \
    "-A CX-BLOCK -j CX-REJECT" \
    "-A CX-REJECT -p tcp -j REJECT --reject-with $tcp_rej" \
    "-A CX-REJECT -j REJECT --reject-with $other_rej" "COMMIT"
}

# A kernel without IPv6 has no IPv6 traffic to filter (nor ip6tables tables to load).
have_ipv6() { [ -e /proc/net/if_inet6 ]; }

dnsmasq_conf() {
  local d up
  printf '%s\n' "\
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=127.0.0.1
port=53
user=$DNS_USER
group=nogroup
pid-file=$DNS_PID
cache-size=2000
log-queries
log-facility=$DNS_LOG
# Every name not forwarded below does not exist.
address=/#/"
  for d in "${domains[@]}"; do
    for up in "${upstreams[@]}"; do echo "server=/$d/$up"; done
    echo "ipset=/$d/cx4-${set_id[$d]},cx6-${set_id[$d]}"
  done
}

restart_dnsmasq() {
  local pid= until
  [ -s "$DNS_PID" ] && read -r pid <"$DNS_PID"
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    # Gone within milliseconds; a builtin-only wait (no sleep process per turn), at most 2 s.
    until=$((${EPOCHREALTIME/./} + 2000000))
    while kill -0 "$pid" 2>/dev/null && [ "${EPOCHREALTIME/./}" -lt "$until" ]; do :; done
  fi
  # dnsmasq returns once it listens (or with the reason it cannot); it opens its log as
  # root and hands it to its user.
  dnsmasq --conf-file="$DNS_CONF" || die "dnsmasq did not start"
}

write_resolv_conf() {
  local lines=()
  mapfile -t lines </etc/resolv.conf
  [ "${lines[*]}" = "$RESOLV_MARK nameserver 127.0.0.1 options ndots:0" ] && return
  # In place: it is a bind mount from the engine, root-owned and 0644, so the agent cannot
  # write it (checked by the tests).
  printf '%s\n' "$RESOLV_MARK" "nameserver 127.0.0.1" "options ndots:0" >/etc/resolv.conf \
    || die "cannot write /etc/resolv.conf"
}

check_rules() {
  local fam=$1 file=$2 lines=() out nl=$'\n'
  mapfile -t lines <"$file"
  printf -v out '\n%s' "${lines[@]}"
  out+=$nl
  [[ $out == *"$nl-P OUTPUT DROP$nl"* ]] || die "IPv$fam OUTPUT policy is not DROP"
  [[ $out == *"$nl-P INPUT DROP$nl"* ]] || die "IPv$fam INPUT policy is not DROP"
  [[ $out == *"$nl-A OUTPUT -j CX-BLOCK$nl"* ]] || die "IPv$fam reject rule missing"
}

# A process of another uid must not reach Docker's resolver (it listens on TCP too, so a
# connection that succeeds proves a hole; a rejected one is refused at once).
probe() {
  if setpriv --reuid=65534 --regid=65534 --clear-groups \
      timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.11/53' 2>/dev/null; then
    echo "an unprivileged process reached Docker's DNS at 127.0.0.11"
    return 1
  fi
}

# Read back what the kernel holds, and probe it, all at once; then forget the probe's own
# rejected attempt.
verify() {
  local uid=$1 p4 p6= pp pid= key x ruid=
  iptables -w 5 -S >"$RUN_DIR/fw-check4" & p4=$!
  if have_ipv6; then ip6tables -w 5 -S >"$RUN_DIR/fw-check6" & p6=$!; fi
  probe >"$RUN_DIR/fw-probe" & pp=$!
  wait "$p4" || die "cannot read the IPv4 rules back"
  check_rules 4 "$RUN_DIR/fw-check4"
  if [ -n "$p6" ]; then
    wait "$p6" || die "cannot read the IPv6 rules back"
    check_rules 6 "$RUN_DIR/fw-check6"
  fi
  [ -s "$DNS_PID" ] && read -r pid <"$DNS_PID"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || die "dnsmasq is not running"
  while read -r key ruid x; do [ "$key" = "Uid:" ] && break; done </proc/"$pid"/status
  [ "$ruid" = "$uid" ] || die "dnsmasq does not run as $DNS_USER"
  wait "$pp" || die "$(<"$RUN_DIR/fw-probe")"
  if [[ " ${existing_sets[*]} " == *" cx-blocked4 "* ]]; then
    { ipset save cx-blocked4; ipset save cx-last4; } \
      | awk '$1 == "add" && $3 ~ /^127\.0\.0\.11,/ { print "del", $2, $3 }' | ipset restore -exist
  else
    printf 'flush %s\n' cx-blocked4 cx-last4 | ipset restore  # new sets: only the probe
  fi
}

# -- commands --------------------------------------------------------------------------------

existing_sets=()

reconcile() {
  local mode=$1 up up4=() up6=() p4 p6=
  read_entries
  dns_uid
  upstream_servers
  mapfile -t existing_sets < <(ipset list -n)
  load_set_ids
  assign_set_ids
  # Sets first: the rules and dnsmasq refer to them.
  ipsets
  for up in "${upstreams[@]}"; do
    if [[ $up == *:* ]]; then up6+=("$up"); else up4+=("$up"); fi
  done
  # Each family's table is replaced atomically; both load in parallel, with dnsmasq.
  rules 4 "$DNS_UID" "${up4[@]}" | iptables-restore -w 5 & p4=$!
  if have_ipv6; then rules 6 "$DNS_UID" "${up6[@]}" | ip6tables-restore -w 5 & p6=$!; fi
  if [ "$mode" = apply ] && [ -n "$(find "$DNS_LOG" -size +4M 2>/dev/null)" ]; then
    tail -n 20000 "$DNS_LOG" >"$DNS_LOG.tmp" && mv "$DNS_LOG.tmp" "$DNS_LOG"
  fi
  dnsmasq_conf >"$DNS_CONF"
  restart_dnsmasq
  write_resolv_conf
  wait "$p4" || die "iptables-restore (IPv4) failed"
  if [ -n "$p6" ]; then wait "$p6" || die "ip6tables-restore (IPv6) failed"; fi
  drop_stale_sets
  if [ "$mode" = apply ]; then verify "$DNS_UID"; fi
  echo enforcing >"$STATE_FILE"
}

seed() {
  # First start: the list the session was created with. Later starts keep live edits.
  local entries=() e
  [ -f "$ALLOW_FILE" ] && return
  [ -d "$CONF_DIR" ] || mkdir -p -m 0755 "$CONF_DIR"
  IFS=, read -ra entries <<<"${CLAUDEX_ALLOW:-}"
  for e in "${entries[@]}"; do [ -z "$e" ] || echo "$e"; done >"$ALLOW_FILE"
}

edit() {
  local op=$1 e tmp changed=0
  shift
  local state=
  [ -f "$STATE_FILE" ] && read -r state <"$STATE_FILE"
  [ "$state" = enforcing ] || die "the firewall is not enforcing in this session"
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
  local now=$EPOCHSECONDS
  echo "[mode]"
  cat "$STATE_FILE" 2>/dev/null || echo "off"
  echo "[now]"
  echo "$now"
  echo "[allow]"
  cat "$ALLOW_FILE" 2>/dev/null || true
  echo "[sets]"
  local id name
  if [ -f "$SETS_FILE" ]; then
    while read -r id name; do echo "$name cx4-$id cx6-$id"; done <"$SETS_FILE"
  fi
  echo "[ipset]"
  ipset save 2>/dev/null | grep -E '^add cx(4|6|-blocked4|-blocked6|-last4|-last6)[- ]' || true
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
    # At container start nothing else can edit yet (edits need `enforcing`); a re-apply can.
    if [ -f "$STATE_FILE" ]; then exec 9>"$RUN_DIR/firewall.lock" && flock -w 10 9; fi
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
    exec 9>"$RUN_DIR/firewall.lock" && flock -w 10 9
    edit "$cmd" "$@"
    ;;
  status) status ;;
  *) die "usage: firewall.sh apply|allow|deny|status" ;;
esac
