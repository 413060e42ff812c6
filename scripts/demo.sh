#!/usr/bin/env bash
# README main job: set-up, then the local demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node dist/src/demo/demo.js "$@"
