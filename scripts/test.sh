#!/usr/bin/env bash
# README test command: full set-up, then every test suite (C unit tests under ASan and valgrind,
# fuzz smoke runs, the TypeScript unit tests and the end-to-end suites with real services).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec scripts/run-tests.sh "$@"
