import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.js";
import { DEFAULT_ENFORCER_DIR, loadEnforcer } from "./enforcer-binary.js";
import { EnforcerMissingError, UnsupportedPlatformError } from "./errors.js";

/** A 64-byte ELF header: 64-bit little-endian, the given e_type and e_machine. */
function elfHeader(type: number, machine: number, cls = 2, data = 1): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = cls;
  b[5] = data;
  b.writeUInt16LE(type, 16);
  b.writeUInt16LE(machine, 18);
  return b;
}

const amd64 = { os: "linux", architecture: "amd64" };
const arm64 = { os: "linux", architecture: "arm64" };

test("loadEnforcer returns this checkout's builds, each for its own architecture", async () => {
  const x86 = await loadEnforcer(amd64);
  assert.equal(x86.readUInt16LE(18), 62);
  const arm = await loadEnforcer(arm64);
  assert.equal(arm.readUInt16LE(18), 183);
  assert.ok(DEFAULT_ENFORCER_DIR.endsWith("/enforcer/build/"));
});

test("loadEnforcer refuses a missing file and anything that is not an ELF executable for the platform", async () => {
  const tmp = await makeTempDir("inlay-enforcer-bin-");
  try {
    const put = async (arch: string, body: Buffer): Promise<void> => {
      await mkdir(join(tmp.path, arch), { recursive: true });
      await writeFile(join(tmp.path, arch, "inlay-enforcer"), body);
    };
    const refused = async (p: typeof amd64, pattern: RegExp): Promise<void> => {
      await assert.rejects(loadEnforcer(p, tmp.path), (err: unknown) => {
        assert.ok(err instanceof EnforcerMissingError, String(err));
        assert.match(err.message, pattern);
        assert.match(err.message, /check --enforcer-dir/);
        return true;
      });
    };
    await refused(amd64, new RegExp(`Cannot read the enforcer for linux/amd64 at ${join(tmp.path, "x86_64", "inlay-enforcer")}: ENOENT`));
    await put("x86_64", Buffer.from("#!/bin/sh\nexit 0\n"));
    await refused(amd64, /it is not a 64-bit little-endian ELF file/);
    await put("x86_64", elfHeader(2, 62, 1));
    await refused(amd64, /it is not a 64-bit little-endian ELF file/);
    await put("x86_64", elfHeader(2, 62, 2, 2));
    await refused(amd64, /it is not a 64-bit little-endian ELF file/);
    await put("x86_64", elfHeader(1, 62));
    await refused(amd64, /an ELF file of type 1, not an executable/);
    // The aarch64 build where the x86_64 one belongs: the image would not start.
    await put("x86_64", elfHeader(2, 183));
    await refused(amd64, /an ELF executable for machine 183, not x86_64/);
    await put("aarch64", elfHeader(3, 62));
    await refused(arm64, /an ELF executable for machine 62, not aarch64/);
    // The positive controls: the same checks pass a header of the right machine (static EXEC and PIE).
    await put("x86_64", elfHeader(2, 62));
    assert.equal((await loadEnforcer(amd64, tmp.path)).length, 64);
    await put("aarch64", elfHeader(3, 183));
    assert.equal((await loadEnforcer(arm64, tmp.path)).length, 64);
    // A platform without a build is not a missing file: it is refused as unsupported.
    await assert.rejects(loadEnforcer({ os: "linux", architecture: "s390x" }, tmp.path), UnsupportedPlatformError);
  } finally {
    await tmp.dispose();
  }
});
