#!/usr/bin/env bash
# Fails if a committed seed differs from what make_seeds.cpp writes now (a wire format changed and the
# corpus was not regenerated). Extra files in the corpus (inputs a fuzzer found and someone kept) are fine.
# Usage: check_seeds.sh SEED_GENERATOR COMMITTED_CORPUS SCRATCH_DIR
set -euo pipefail
generator=$1 committed=$2 scratch=$3
rm -rf "$scratch"
"$generator" "$scratch" >/dev/null
status=0
while IFS= read -r -d '' file; do
  rel=${file#"$scratch"/}
  if ! cmp -s "$file" "$committed/$rel"; then
    echo "tests/fuzz/corpus/$rel is missing or out of date: run '$generator tests/fuzz/corpus' and commit" >&2
    status=1
  fi
done < <(find "$scratch" -type f -print0)
exit $status
