#!/usr/bin/env bash
# Install claudex from this checkout into its own virtual environment, put `claudex` on
# ~/.local/bin, make sure a Docker Engine answers, then start claudex with the arguments given
# (default: the current directory).
#
#   bash scripts/install.sh [--yes] [claudex arguments...]
#
# When no engine answers and this is root on Debian/Ubuntu, it offers to install and start one
# the way the test command does (scripts/ensure-engine.sh): it asks on a terminal, --yes says
# yes for scripts, and without a terminal or --yes it says what to run and stops. Elsewhere it
# prints what to run for this system.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${CLAUDEX_VENV:-$HOME/.local/share/claudex/venv}
bin=$HOME/.local/bin
yes=0
while [ $# -gt 0 ]; do
  case "$1" in
    -y | --yes) yes=1 ;;
    *) break ;;
  esac
  shift
done

say() { echo "claudex: $*" >&2; }

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    say "python3 -m venv is missing; install it (Debian: sudo apt-get install python3-venv)"
    exit 1
  fi
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "$here"
mkdir -p "$bin"
ln -sf "$venv/bin/claudex" "$bin/claudex"
say "$("$bin/claudex" --version | cut -d' ' -f2) installed as $bin/claudex"
case ":$PATH:" in *":$bin:"*) ;; *) say "add $bin to your PATH to run it by name" ;; esac

# -- the engine -------------------------------------------------------------------------------
# Asked the way claudex asks (DOCKER_HOST, docker contexts), with the installed docker-py;
# -I: the installed modules, never a `container/` of the current directory. When it does not
# answer, $fix is claudex's own advice (e.g. the docker group when permission is denied).
fix=""
engine_answers() {
  fix=$("$venv/bin/python" -I -c '
import sys
from container.engine import connect, engine_errors
from container.errors import ClaudexError
try:
    with engine_errors("asking the engine"):
        connect(5).ping()
except ClaudexError as exc:
    print(exc.hint or exc.message)
    sys.exit(1)
' 2>/dev/null) && return 0
  [ -n "$fix" ] || fix=$("$venv/bin/python" -I -m container.engine_fix)
  return 1
}

debian_like() {
  [ -r /etc/os-release ] && grep -Eq '^ID(_LIKE)?=.*(debian|ubuntu)' /etc/os-release
}

if ! engine_answers; then
  offer=0
  if [ "$(id -u)" = 0 ] && debian_like && command -v apt-get >/dev/null; then
    case "${DOCKER_HOST:-unix://}" in unix://*) offer=1 ;; esac
  fi
  if [ "$offer" = 0 ]; then
    say "no Docker Engine answers; $fix"
    exit 1
  fi
  if [ "$yes" = 0 ]; then
    if [ ! -t 0 ]; then
      say "no Docker Engine answers; to install and start one as the test command does: bash $here/scripts/install.sh --yes (or yourself: $fix)"
      exit 1
    fi
    read -r -p "No Docker Engine answers. Install (if needed) and start one now, as the test command does? [y/N] " answer || answer=""
    case "$answer" in
      y | Y | yes | YES) ;;
      *)
        say "not installing; to do it yourself: $fix"
        exit 1
        ;;
    esac
  fi
  bash "$here/scripts/ensure-engine.sh"
  engine_answers || { say "the engine still does not answer; $fix"; exit 1; }
fi
exec "$bin/claudex" "$@"
