import { test } from "node:test";
import assert from "node:assert/strict";
import { finishManifest, makeExecEntry, type ExecKind } from "./exec-manifest.js";
import { formatBytes, formatScanSummary } from "./summary.js";

const e = (path: string, size: number, mode: number, kind: ExecKind, capabilities?: string) =>
  makeExecEntry({ path, sha256: "0".repeat(64), size, mode, uid: 0, gid: mode & 0o2000 ? 42 : 0, capabilities }, kind);

test("formatScanSummary lists counts, privileged files and the largest executables", () => {
  const m = finishManifest(
    [
      e("/usr/bin/busybox", 1_982_256, 0o755, "elf"),
      e("/usr/bin/su", 60_000, 0o4755, "elf"),
      e("/usr/bin/wall", 30_000, 0o2755, "elf"),
      e("/usr/bin/ping", 70_000, 0o755, "elf", "0100000200200000"),
      e("/entry.sh", 120, 0o755, "script"),
      e("/opt/run", 5, 0o755, "other"),
    ],
    [{ path: "/bin", target: "usr/bin" }],
  );
  assert.equal(
    formatScanSummary(m, { title: "img (linux/amd64)", largest: 3 }),
    [
      "img (linux/amd64)",
      "executables: 6 (elf 4, script 1, other 1), 2.0 MiB",
      "symlinks: 1",
      "setuid/setgid: 2",
      "  4755 0:0         setuid        /usr/bin/su",
      "  2755 0:42        setgid        /usr/bin/wall",
      "file capabilities: 1",
      "  /usr/bin/ping  security.capability=0x0100000200200000",
      "largest executables:",
      "   1.9 MiB  elf    /usr/bin/busybox",
      "  68.4 KiB  elf    /usr/bin/ping",
      "  58.6 KiB  elf    /usr/bin/su",
      "",
    ].join("\n"),
  );
});

test("formatScanSummary handles an empty manifest", () => {
  assert.equal(formatScanSummary({ entries: [], symlinks: [] }), "executables: 0 (elf 0, script 0, other 0), 0 B\nsymlinks: 0\nsetuid/setgid: 0\n");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1024), "1.0 KiB");
});
