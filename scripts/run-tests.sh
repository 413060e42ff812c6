#!/usr/bin/env bash
# Runs every test against an existing build (scripts/setup.sh makes one). Optional arguments are
# substrings of test file paths to select, e.g. `scripts/run-tests.sh enforcer/`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -eq 0 ]; then
  make -C enforcer --no-print-directory check
fi

mapfile -t files < <(find dist/src dist/test -name '*.test.js' 2>/dev/null | sort)
if [ "$#" -gt 0 ]; then
  selected=()
  for f in "${files[@]}"; do for pat in "$@"; do [[ "$f" == *"$pat"* ]] && { selected+=("$f"); break; }; done; done
  files=("${selected[@]}")
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "run-tests: no test files found under dist/ (did the build run?)" >&2
  exit 1
fi
# Suites start real services (registry, podman, PostgreSQL) on random loopback ports; running the
# files one at a time keeps a 2-core machine's timings sane and the logs readable.
exec node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
