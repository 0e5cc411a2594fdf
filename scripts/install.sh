#!/usr/bin/env bash
# Install claudex from this checkout into its own virtual environment, put `claudex` on
# ~/.local/bin, then start it with the arguments given (default: the current directory).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${CLAUDEX_VENV:-$HOME/.local/share/claudex/venv}
bin=$HOME/.local/bin

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "claudex: python3 -m venv is missing; install it (Debian: sudo apt-get install python3-venv)" >&2
    exit 1
  fi
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "$here"
mkdir -p "$bin"
ln -sf "$venv/bin/claudex" "$bin/claudex"
echo "claudex $("$bin/claudex" --version | cut -d' ' -f2) installed as $bin/claudex" >&2
case ":$PATH:" in *":$bin:"*) ;; *) echo "add $bin to your PATH to run it by name" >&2 ;; esac
exec "$bin/claudex" "$@"
