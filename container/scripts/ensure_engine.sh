#!/usr/bin/env bash
# Make sure a Docker Engine answers and that debian:bookworm-slim exists locally.
# Starts dockerd only when none is reachable, and never stops what it did not start.
# Shipped in the package: `claudex` runs it (on the host, as root, when the user said yes) when
# no engine answers, and scripts/ensure-engine.sh (the test and install commands) runs this file.
# A DOCKER_HOST of unix://PATH gets its dockerd listening there; CLAUDEX_DOCKERD_ARGS adds
# arguments (e.g. a data root of its own) and CLAUDEX_DOCKERD_LOG moves its log.
set -euo pipefail

log() { printf '[engine] %s\n' "$*" >&2; }

engine_up() { docker info >/dev/null 2>&1; }

dockerd_log=${CLAUDEX_DOCKERD_LOG:-/var/log/claudex-dockerd.log}
# shellcheck disable=SC2206 # words on purpose: a list of arguments in one variable
dockerd_args=(${CLAUDEX_DOCKERD_ARGS:-})

if ! engine_up; then
  case "${DOCKER_HOST:-}" in
    "") ;;
    unix://*) dockerd_args=(--host "$DOCKER_HOST" "${dockerd_args[@]}") ;;
    *)
      log "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local engine over it"
      exit 1
      ;;
  esac
  if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      log "no Docker Engine reachable and cannot install one (needs root on Debian)"
      exit 1
    fi
    log "installing Debian's docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io iptables >/dev/null
  fi
  log "starting dockerd in the background (log: $dockerd_log)"
  # A session of its own: a Ctrl-C at the terminal that asked (claudex building the image,
  # pytest) never reaches the engine it started.
  setsid nohup dockerd "${dockerd_args[@]}" >"$dockerd_log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    engine_up && break
    sleep 1
  done
  engine_up || { log "dockerd did not come up; see $dockerd_log"; exit 1; }
fi
log "engine: $(docker version --format '{{.Server.Version}}' 2>/dev/null)"

base=debian:bookworm-slim
if ! docker image inspect "$base" >/dev/null 2>&1; then
  if timeout 60 docker pull "$base" >/dev/null 2>&1; then
    log "pulled $base"
  else
    command -v debootstrap >/dev/null 2>&1 || {
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    root=$(mktemp -d /var/tmp/claudex-bookworm.XXXXXX)
    log "making $base locally with debootstrap (no registry reachable)"
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/var/log/claudex-debootstrap.log 2>&1 \
      || { log "debootstrap failed; see /var/log/claudex-debootstrap.log"; rm -rf "$root"; exit 1; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$base" >/dev/null
    rm -rf "$root"
    log "imported $base"
  fi
fi
