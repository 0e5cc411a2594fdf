#!/bin/bash
# The session firewall, inside the container's own network namespace (never the host's).
#
#   firewall.sh apply            at every container start (init.sh): everything, then verify
#   firewall.sh allow ENTRY...   live edits (docker exec as root): kept in the allow file,
#   firewall.sh deny ENTRY...    effective at once, no restart of the session or the agent
#   firewall.sh status [mode]    state read from the kernel, for container/firewall.py
#
# Design: default-deny filter tables (IPv4 and IPv6) loaded atomically by iptables-restore;
# the nat table is never touched (Docker's embedded DNS lives there). Names resolve only
# through a dnsmasq running as its own uid, which forwards just the allowed names and puts
# each answer's addresses into a per-name ipset (list:set cx-allow4/6) before replying.
# Rejected packets are counted per address/protocol/port in cx-blocked4/6 and dated in
# cx-last4/6 (a timeout refreshed on every hit); both hold at most BLOCK_MAX destinations.
# Refused names: dnsmasq logs into a FIFO read by dns_refused.py (as the DNS user), which
# keeps a bounded summary; nothing the agent can make grow is kept unbounded.
#
# Status is the truth, not a file: every apply and edit records what the kernel holds right
# after loading (rules as `iptables -S` prints them, the ipsets' layout, dnsmasq's process);
# `status` reads the kernel again and says "broken: WHAT" for any difference. (A root that
# rewrites the record as well defeats this: it is a tripwire, root stays the agent's to lose.)
#
# Where root works here, and why the agent cannot turn it (it runs as another uid, without
# capabilities, and writes only its home, /tmp, /workspace and the like):
#   /etc/claudex/firewall, /run/claudex   root's directories (0755); the lock is 0600, or the
#                                         agent could flock it and stall status and edits
#   /run/claudex/dns-log                  the FIFO, made by root 0600 (dnsmasq hands it to its
#                                         user); root opens it for the aggregator
#   /var/lib/claudex-dns                  the DNS user's; status reads the summary there as
#                                         that user, size-capped, under a timeout
#   dnsmasq's pid file                    its own: killed only if it names a dnsmasq of its user
#   /etc/resolv.conf                      the engine's bind mount, root's 0644
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
APPLIED_FILE=$RUN_DIR/firewall-applied # what the kernel held right after the last apply/edit
LOCK_FILE=$RUN_DIR/firewall.lock       # root-only: nobody else can hold it
SETS_FILE=$RUN_DIR/firewall-sets
DNS_CONF=$RUN_DIR/dnsmasq.conf
DNS_PID=$RUN_DIR/dnsmasq.pid
DNS_FIFO=$RUN_DIR/dns-log              # dnsmasq's query log -> dns_refused.py
REFUSED_PID=$RUN_DIR/dns-refused.pid
REFUSED_DIR=/var/lib/claudex-dns       # the DNS user's; kept across restarts
REFUSED_FILE=$REFUSED_DIR/refused
REFUSED_MAX=524288                     # bytes of the summary status passes on
OLD_DNS_LOG=/var/log/claudex-dns.log   # older images' unbounded query log
LIB=/usr/local/lib/claudex
DNS_USER=claudex-dns
MAX_NAMES=120                          # two ipsets per name; the kernel allows 256 sets
BLOCK_TIMEOUT=2147483                  # ipset's maximum; remaining time dates the last hit
BLOCK_MAX=1024                         # destinations kept per family (status prunes the oldest)
SET_ADDRESSES=64                       # admitted addresses per name that status lists
RESOLV_MARK="# claudex firewall: names resolve only through the local dnsmasq"

die() { echo "firewall: $*" >&2; exit 1; }

# -- entries ---------------------------------------------------------------------------------

domains=() nets4=() nets6=()

# Split the allow file into names and IP[/prefix][:port] entries (validated on the host too;
# checked again here because this runs as root).
allow_lines=()
read_entries() {
  domains=() nets4=() nets6=() allow_lines=()
  local line
  [ -f "$ALLOW_FILE" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    allow_lines+=("$line")
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
    echo "create cx-blocked4 hash:ip,port family inet counters maxelem $BLOCK_MAX"
    echo "create cx-blocked6 hash:ip,port family inet6 counters maxelem $BLOCK_MAX"
    echo "create cx-last4 hash:ip,port family inet timeout $BLOCK_TIMEOUT maxelem $BLOCK_MAX"
    echo "create cx-last6 hash:ip,port family inet6 timeout $BLOCK_TIMEOUT maxelem $BLOCK_MAX"
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
log-facility=$DNS_FIFO
# Every name not forwarded below does not exist.
address=/#/"
  for d in "${domains[@]}"; do
    for up in "${upstreams[@]}"; do echo "server=/$d/$up"; done
    echo "ipset=/$d/cx4-${set_id[$d]},cx6-${set_id[$d]}"
  done
}

# A process's start time (clock ticks after boot) into PSTART, empty if it is gone: with its
# pid, it names one process for good. Builtins only.
proc_start() {
  local line f=()
  PSTART=
  [ -n "$1" ] && read -r line 2>/dev/null <"/proc/$1/stat" || return 0
  read -ra f <<<"${line##*) }"
  PSTART=${f[19]:-}
}

# A process's comm and real, effective, saved and fs uids, into PCOMM and PUIDS.
proc_owner() {
  local key a b c d
  PCOMM= PUIDS=
  read -r PCOMM 2>/dev/null <"/proc/$1/comm" || return 0
  while read -r key a b c d; do
    if [ "$key" = "Uid:" ]; then PUIDS="$a $b $c $d"; return 0; fi
  done 2>/dev/null <"/proc/$1/status"
  return 0
}

# The refused-names aggregator: once per container start (edits and re-applies keep it). It
# runs as the DNS user and reads dnsmasq's log from a root-only FIFO that root opens for it.
start_refused_log() {
  local pid= start=
  [ -p "$DNS_FIFO" ] || mkfifo -m 0600 "$DNS_FIFO" || die "cannot create $DNS_FIFO"
  if [ -s "$REFUSED_PID" ]; then
    read -r pid start <"$REFUSED_PID"
    proc_start "$pid"
    [ -n "$PSTART" ] && [ "$PSTART" = "$start" ] && return 0
  fi
  [ -d "$REFUSED_DIR" ] || install -d -o "$DNS_UID" -g 65534 -m 0755 "$REFUSED_DIR" \
    || die "cannot create $REFUSED_DIR"
  [ -e "$OLD_DNS_LOG" ] && rm -f "$OLD_DNS_LOG"
  setpriv --reuid="$DNS_UID" --regid=65534 --clear-groups --no-new-privs \
    python3 -I -S "$LIB/dns_refused.py" "$REFUSED_FILE" <>"$DNS_FIFO" >/dev/null 2>&1 8>&- 9>&- &
  proc_start $!
  echo "$! $PSTART" >"$REFUSED_PID"
}

restart_dnsmasq() {
  local pid= until
  [ -s "$DNS_PID" ] && read -r pid <"$DNS_PID"
  # The pid file is dnsmasq's own: kill only a dnsmasq of the DNS user.
  [ -n "$pid" ] && proc_owner "$pid"
  if [ -n "$pid" ] && [ "$PCOMM" = dnsmasq ] && [ "$PUIDS" = "$DNS_UID $DNS_UID $DNS_UID $DNS_UID" ] \
      && kill "$pid" 2>/dev/null; then
    # Gone within milliseconds; a builtin-only wait (no sleep process per turn), at most 2 s.
    until=$((${EPOCHREALTIME/./} + 2000000))
    while kill -0 "$pid" 2>/dev/null && [ "${EPOCHREALTIME/./}" -lt "$until" ]; do :; done
  fi
  # dnsmasq returns once it listens (or with the reason it cannot). It opens its log, the
  # FIFO, as root; the read end held here meanwhile keeps that open from ever waiting.
  exec 8<>"$DNS_FIFO"
  dnsmasq --conf-file="$DNS_CONF" 8>&- || die "dnsmasq did not start"
  exec 8>&-
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

# The filter table as the kernel prints it back, counters taken out (table=()), and the
# packets that went through the recording chain (rejected=).
read_rules() {
  local tool=$1 line re='^(.*) -c ([0-9]+) [0-9]+(.*)$'
  table=() rejected=0
  while IFS= read -r line; do
    if [[ $line =~ $re ]]; then
      line=${BASH_REMATCH[1]}${BASH_REMATCH[3]}
      if [ "${BASH_REMATCH[1]}" = "-A CX-BLOCK" ] \
          && [[ ${BASH_REMATCH[3]} == " -j SET --add-set cx-last"* ]]; then
        rejected=${BASH_REMATCH[2]}
      fi
    fi
    table+=("$line")
  done < <("$tool" -w 5 -v -S 2>&1 || echo "($tool -S failed)")
}

check_rules() {
  local fam=$1 out nl=$'\n'
  printf -v out '\n%s' "${table[@]}"
  out+=$nl
  [[ $out == *"$nl-P OUTPUT DROP$nl"* ]] || die "IPv$fam OUTPUT policy is not DROP"
  [[ $out == *"$nl-P INPUT DROP$nl"* ]] || die "IPv$fam INPUT policy is not DROP"
  [[ $out == *"$nl-A OUTPUT -j CX-BLOCK$nl"* ]] || die "IPv$fam reject rule missing"
}

# The ipsets' layout in `ipset save` text: every set's type and options, and which per-name
# sets the allow lists hold. (Other members come and go: DNS answers, rejected packets.)
set_layout() { awk '$1 == "create" && $2 ~ /^cx/ || $1 == "add" && $2 ~ /^cx-allow[46]$/'; }

# A process of another uid must not reach Docker's resolver (it listens on TCP too, so a
# connection that succeeds proves a hole; a rejected one is refused at once).
probe() {
  if setpriv --reuid=65534 --regid=65534 --clear-groups \
      timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.11/53' 2>/dev/null; then
    echo "an unprivileged process reached Docker's DNS at 127.0.0.11"
    return 1
  fi
}

# What the kernel holds after a start: the policies and rules that matter, dnsmasq as its own
# user, no hole to Docker's DNS (the probe, started earlier); then forget the probe's own
# rejected attempt.
verify() {
  local uid=$1 pp=$2 pid=
  table=("${rules4[@]}")
  check_rules 4
  if have_ipv6; then
    table=("${rules6[@]}")
    check_rules 6
  fi
  [ -s "$DNS_PID" ] && read -r pid <"$DNS_PID"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || die "dnsmasq is not running"
  proc_owner "$pid"
  [ "$PUIDS" = "$uid $uid $uid $uid" ] || die "dnsmasq does not run as $DNS_USER"
  wait "$pp" || die "$(<"$RUN_DIR/fw-probe")"
  if [[ " ${existing_sets[*]} " == *" cx-blocked4 "* ]]; then
    { ipset save cx-blocked4; ipset save cx-last4; } \
      | awk '$1 == "add" && $3 ~ /^127\.0\.0\.11,/ { print "del", $2, $3 }' | ipset restore -exist
  else
    printf 'flush %s\n' cx-blocked4 cx-last4 | ipset restore  # new sets: only the probe
  fi
}

# What claudex applied, as the kernel holds it: `status` compares the kernel against this.
# Written whole, then renamed: a status running meanwhile sees the old record or the new.
record_applied() {
  local uid=$1 pid=
  [ -s "$DNS_PID" ] && read -r pid <"$DNS_PID"
  proc_start "$pid"
  {
    echo "[rules4]"
    printf '%s\n' "${rules4[@]}"
    if have_ipv6; then
      echo "[rules6]"
      printf '%s\n' "${rules6[@]}"
    fi
    echo "[sets]"
    ipset save | set_layout
    echo "[dnsmasq]"
    echo "$pid $PSTART $uid"
    echo "[allow]"
    printf '%s\n' "${allow_lines[@]}"
  } >"$APPLIED_FILE.tmp" || die "cannot record the applied rules"
  mv -f "$APPLIED_FILE.tmp" "$APPLIED_FILE" || die "cannot record the applied rules"
}

# -- commands --------------------------------------------------------------------------------

existing_sets=()
table=() rules4=() rules6=()

reconcile() {
  local mode=$1 up up4=() up6=() p4 p6= pp=
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
  start_refused_log
  dnsmasq_conf >"$DNS_CONF"
  restart_dnsmasq
  write_resolv_conf
  wait "$p4" || die "iptables-restore (IPv4) failed"
  if [ -n "$p6" ]; then wait "$p6" || die "ip6tables-restore (IPv6) failed"; fi
  drop_stale_sets
  if [ "$mode" = apply ]; then probe >"$RUN_DIR/fw-probe" & pp=$!; fi
  read_rules iptables
  rules4=("${table[@]}")
  if have_ipv6; then
    read_rules ip6tables
    rules6=("${table[@]}")
  fi
  if [ "$mode" = apply ]; then verify "$DNS_UID" "$pp"; fi
  record_applied "$DNS_UID"
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
  [ -f "$STATE_FILE" ] && { read -r state <"$STATE_FILE" || true; }
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

# -- status: the kernel compared with what was applied ---------------------------------------

# Adds to problems=() how two arrays (named) differ: a few lines each way, never all.
compare_lines() {
  local what=$1 l a b text
  local -n cl_want=$2 cl_have=$3
  printf -v a '%s\n' "${cl_want[@]}"
  printf -v b '%s\n' "${cl_have[@]}"
  [ "$a" = "$b" ] && return 0
  local -A in_want=() in_have=()
  local added=() missing=()
  for l in "${cl_want[@]}"; do in_want["$l"]=1; done
  for l in "${cl_have[@]}"; do
    in_have["$l"]=1
    [ -n "${in_want["$l"]:-}" ] || added+=("'$l'")
  done
  for l in "${cl_want[@]}"; do [ -n "${in_have["$l"]:-}" ] || missing+=("'$l'"); done
  text="$what differ from what claudex applied:"
  if [ "${#added[@]}" -gt 0 ]; then
    text+=" added ${added[*]:0:3}"
    [ "${#added[@]}" -le 3 ] || text+=" (+$((${#added[@]} - 3)) more)"
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    text+=" missing ${missing[*]:0:3}"
    [ "${#missing[@]}" -le 3 ] || text+=" (+$((${#missing[@]} - 3)) more)"
  fi
  [ "${#added[@]}${#missing[@]}" != 00 ] || text+=" the same lines in another order"
  problems+=("$text")
}

# Everything the firewall consists of, read from the kernel and /proc now, against the record
# of the last apply/edit. Sets problems=() (empty: all in place), rejected4/6 and DNS_UID.
live_check() {
  local section= line pid= start= want_conf have_conf
  local want4=() want6=() want_sets=() have_sets=() want_allow=() have_allow=() lines=()
  problems=()
  while IFS= read -r line; do
    case "$line" in
      "[rules4]" | "[rules6]" | "[sets]" | "[dnsmasq]" | "[allow]") section=$line ;;
      *)
        case "$section" in
          "[rules4]") want4+=("$line") ;;
          "[rules6]") want6+=("$line") ;;
          "[sets]") want_sets+=("$line") ;;
          "[dnsmasq]") read -r pid start DNS_UID <<<"$line" ;;
          "[allow]") want_allow+=("$line") ;;
        esac
        ;;
    esac
  done <"$APPLIED_FILE"
  read_rules iptables
  rejected4=$rejected
  compare_lines "IPv4 rules" want4 table
  if have_ipv6; then
    read_rules ip6tables
    rejected6=$rejected
    compare_lines "IPv6 rules" want6 table
  fi
  mapfile -t have_sets < <(set_layout <<<"$dump")
  compare_lines "ipsets" want_sets have_sets
  proc_start "$pid"
  if [ -z "$PSTART" ] || [ "$PSTART" != "$start" ]; then
    # Gone, or another dnsmasq in its place (its pid file is its own: a hint, no more).
    pid=
    [ -s "$DNS_PID" ] && { read -r pid <"$DNS_PID" || true; }
    PCOMM=
    [[ $pid =~ ^[0-9]+$ ]] && proc_owner "$pid"
    if [ "$PCOMM" = dnsmasq ]; then
      problems+=("dnsmasq is not the process the firewall started")
    else
      problems+=("dnsmasq is not running")
    fi
  else
    proc_owner "$pid"
    [ "$PUIDS" = "$DNS_UID $DNS_UID $DNS_UID $DNS_UID" ] \
      || problems+=("dnsmasq runs as uids $PUIDS, not $DNS_USER ($DNS_UID)")
  fi
  # The configuration dnsmasq was started with is the one the allow list makes.
  [ -f "$ALLOW_FILE" ] && mapfile -t have_allow <"$ALLOW_FILE"
  compare_lines "allow list entries" want_allow have_allow
  want_conf=$({ read_entries && load_set_ids && mapfile -t upstreams <"$UPSTREAM_FILE" \
    && dnsmasq_conf; } 2>&1) || want_conf="(cannot be made: $want_conf)"
  have_conf=$(<"$DNS_CONF")
  [ "$want_conf" = "$have_conf" ] || problems+=("dnsmasq's configuration is not the allow list's")
  mapfile -t lines </etc/resolv.conf
  [ "${lines[*]}" = "$RESOLV_MARK nameserver 127.0.0.1 options ndots:0" ] \
    || problems+=("/etc/resolv.conf does not point at the firewall's DNS")
}

# Keeps the recording sets from filling up for good: when one is full, the oldest quarter of
# its destinations (by last hit) goes. The dump's [ipset] lines said which are full.
prune_blocked() {
  awk '$1 == "add" && $2 ~ /^cx-last[46]$/ { print $2, $5, $3 }' <<<"$dump" \
    | sort -k1,1 -k2,2n \
    | awk -v max="$BLOCK_MAX" -v cut=$((BLOCK_MAX / 4)) '
        { n[$1]++; if (n[$1] <= cut) m[$1, n[$1]] = $3 }
        END {
          for (s in n) if (n[s] >= max) for (i = 1; i <= cut; i++) {
            print "del", s, m[s, i]; print "del cx-blocked" substr(s, 8), m[s, i]
          }
        }' | ipset restore -exist
}

status() {
  local brief=${1:-} mode=off now=$EPOCHSECONDS dump= sets= problems=() rejected4=0 rejected6=0
  local id name text
  umask 077
  exec 9>>"$LOCK_FILE"
  umask 022
  flock -s -w 5 9 || true  # an edit holds it for a moment; a stuck one must not hide the state
  [ -s "$STATE_FILE" ] && { read -r mode <"$STATE_FILE" || true; }
  if [[ $mode != failed* ]]; then
    if [ -f "$APPLIED_FILE" ]; then
      dump=$(ipset save 2>&1)
      live_check
      mode=enforcing
      if [ "${#problems[@]}" -gt 0 ]; then
        printf -v text '%s; ' "${problems[@]}"
        mode="broken: ${text%; }"
      fi
    elif [ "$mode" = enforcing ]; then
      mode="broken: the record of the applied rules ($APPLIED_FILE) is gone"
    fi
  fi
  echo "[mode]"
  echo "${mode//$'\n'/ }"
  echo "[checked]"
  echo "rules ipsets dnsmasq resolv.conf"
  [ "$brief" = mode ] && return 0
  echo "[now]"
  echo "$now"
  echo "[allow]"
  [ -f "$ALLOW_FILE" ] && echo "$(<"$ALLOW_FILE")"
  echo "[sets]"
  if [ -f "$SETS_FILE" ]; then
    while read -r id name; do echo "$name cx4-$id cx6-$id"; done <"$SETS_FILE"
  fi
  [ -n "$dump" ] || return 0
  echo "[ipset]"
  # Each name's admitted addresses up to SET_ADDRESSES (and how many more); the recording
  # sets whole (BLOCK_MAX at most each), and which of them are full.
  sets=$(awk -v max="$SET_ADDRESSES" -v full="$BLOCK_MAX" '
    $1 == "add" && $2 ~ /^cx[46]-[0-9]+$/ { if (++n[$2] <= max) print; else more[$2]++; next }
    $1 == "add" && $2 ~ /^cx-(blocked|last)[46]$/ { print; if (++n[$2] == full) print "full", $2 }
    END { for (s in more) print "more", s, more[s] }' <<<"$dump")
  echo "$sets"
  echo "[rejected]"
  echo "4 $rejected4"
  have_ipv6 && echo "6 $rejected6"
  echo "[refused]"
  # The aggregator's summary, read as its own user (its directory is that user's), bounded.
  [ -e "$REFUSED_FILE" ] && setpriv --reuid="$DNS_UID" --regid=65534 --clear-groups \
    timeout 2 head -c "$REFUSED_MAX" -- "$REFUSED_FILE" 2>/dev/null || true
  echo
  [[ $sets != *"full cx-last"* ]] || prune_blocked
  true
}

cmd=${1:-}
shift || true
case "$cmd" in
  apply)
    # At container start nothing else can edit yet (edits need `enforcing`); a re-apply can.
    if [ -f "$STATE_FILE" ]; then
      umask 077
      exec 9>>"$LOCK_FILE" && flock -w 10 9
      umask 022
    fi
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
    umask 077
    exec 9>>"$LOCK_FILE" && flock -w 10 9
    umask 022
    edit "$cmd" "$@"
    ;;
  status) status "$@" ;;
  *) die "usage: firewall.sh apply|allow|deny|status [mode]" ;;
esac
