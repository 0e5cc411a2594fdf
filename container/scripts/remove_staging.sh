#!/bin/bash
# As the agent: staged files of pushes that never ended (a killed claudex) anywhere under $1
# (the workspace). container/transfer/staging.py.
find "$1" -regextype posix-extended ! -type d \( \
  -regex '.*/\.claudex-part-[0-9a-f]{12}-[0-9]+' -o -regex '.*/\.claudex-manifest-[0-9a-f]{12}' \
  \) -delete 2>/dev/null
exit 0
