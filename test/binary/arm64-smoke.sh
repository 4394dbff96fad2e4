#!/usr/bin/env bash
# The linux-arm64 single executable under qemu-user, doing what test/e2e/binary.test.ts does for
# x64: run from an empty folder against the demo plant, /healthz ok, samples stored, dashboard
# served, `check` and `kpi` work, SIGTERM exits 0. Prints the run time (README "Single binary").
# Needs Debian's qemu-user-static and libc6-arm64-cross (the arm64 glibc for -L); builds the
# binary first when it is missing (npm run build:binary -- --arch arm64: crossbuild-essential-arm64).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=dist/shopfloor-agent-linux-arm64
for tool in qemu-aarch64-static; do
  command -v "$tool" >/dev/null || { echo "no $tool: apt-get install -y qemu-user-static libc6-arm64-cross"; exit 1; }
done
[ -d /usr/aarch64-linux-gnu/lib ] || { echo "no /usr/aarch64-linux-gnu: apt-get install -y libc6-arm64-cross"; exit 1; }
[ -x "$BIN" ] || npm run -s build:binary -- --arch arm64
start=$(date +%s)
node agent/cli/run-ts.mjs test/binary/binary-smoke.ts "$BIN" --qemu "$@"
echo "arm64 smoke under qemu-aarch64-static: $(( $(date +%s) - start )) s"
