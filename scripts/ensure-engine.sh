#!/usr/bin/env bash
# Make sure a Docker Engine answers and that debian:bookworm-slim exists locally: the script
# claudex ships (container/scripts/ensure_engine.sh), the same one `claudex` runs when it offers.
set -euo pipefail
exec bash "$(dirname "$0")/../container/scripts/ensure_engine.sh" "$@"
