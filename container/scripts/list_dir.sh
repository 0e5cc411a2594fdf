#!/bin/bash
# The entries of directory $1, one record each: type, type behind a link, size, name (NUL
# ends a record). container/transfer/common.py: list_dir.
cd -- "$1" 2>/dev/null || exit 10
find . -mindepth 1 -maxdepth 1 -printf '%y\t%Y\t%s\t%P\0'
