#!/usr/bin/env bash
# One idempotent set-up step for a fresh Debian 12 machine, run as root:
# apt packages, npm ci, and the build of the enforcer (x86_64 + aarch64) and the TypeScript.
# Both README commands (demo and tests) call this first; running it twice is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the product, its tests and its benchmarks need from Debian. Keep sorted.
APT_PACKAGES=(
  apache2-utils bsdutils busybox-static clang cpio curl docker-registry gcc gcc-aarch64-linux-gnu hyperfine iproute2 jq
  libbearssl-dev libbearssl-dev:arm64 libclang-rt-14-dev make musl-dev:arm64 musl-tools openssl podman postgresql python3 qemu-system-arm
  rsyslog runc skopeo strace tini umoci valgrind zlib1g-dev
)

missing=()
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  missing=("${APT_PACKAGES[@]}")
else
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages" >&2
  apt-get update -qq
  # policy-rc.d may refuse to start services at install time; the tests start what they need themselves.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.inlay-lock-hash ] || [ "$(cat node_modules/.inlay-lock-hash)" != "$lock_hash" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.inlay-lock-hash
fi

npm run --silent build
