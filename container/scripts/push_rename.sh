#!/bin/bash
# As the agent: moves every staged file of a push onto its final name. $1 the destination,
# $2 the manifest (pairs of NUL-terminated names: staged, final), $3 force (1 or 0). Without
# force a name that appeared meanwhile is kept (mv -n) and reported (S), so nothing is
# overwritten by surprise; a name that cannot be written is reported (E).
# container/transfer/push.py.
cd -- "$1" || exit 12
manifest=$2
force=$3
while IFS= read -r -d '' tmp && IFS= read -r -d '' final; do
  if [ "$force" = 1 ]; then
    mv -f -T -- "$tmp" "$final" 2>/dev/null || printf 'E\t%s\0' "$final"
  else
    mv -n -T -- "$tmp" "$final" 2>/dev/null || printf 'E\t%s\0' "$final"
    if [ -e "$tmp" ] || [ -L "$tmp" ]; then printf 'S\t%s\0' "$final"; fi
  fi
done <"$manifest"
rm -f -- "$manifest"
