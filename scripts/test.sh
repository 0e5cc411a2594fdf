#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine with Python 3.11 (run as root there):
# installs what it needs, starts a Docker Engine if none answers, builds the real image,
# then runs lint, types, unit, widget, integration and tmux tests, and prints the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "python environment (.venv)"
if [ ! -x .venv/bin/python ]; then
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test,bench]'
# Bytecode for the checkout, as pip writes it for an installed claudex: the tests start the CLI
# hundreds of times and PYTHONDONTWRITEBYTECODE (set on some machines) would have each start
# compile every module again (0.15 s each); Python still checks each file's time stamp.
.venv/bin/python -m compileall -q -j 0 claudex_tui widgets container tests >/dev/null

step "tools the tests drive (tmux, git, shellcheck, sshd for an ssh:// engine)"
missing=()
for tool in tmux git shellcheck; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "docker engine and base image"
bash scripts/ensure-engine.sh

step "claudex image (rebuilt only when its context changed)"
ca=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && ca=(--ca-cert /etc/ssl/certs/ca-certificates.crt)
.venv/bin/claudex build "${ca[@]}" </dev/null

step "ruff and mypy"
.venv/bin/ruff check --output-format concise .
.venv/bin/ruff format --check --quiet claudex_tui widgets container tests
.venv/bin/mypy

step "tests"
.venv/bin/python -m pytest -p no:cacheprovider -q -rs --durations=15 "$@"

step "benchmarks (figures, not pass/fail)"
for bench in tests/perf/bench_*.py; do
  echo "--- $bench"
  .venv/bin/python "$bench" || echo "benchmark $bench failed"
done
