import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir } from "../../../test/helpers/temp-dir.js";

const cli = fileURLToPath(new URL("../main.js", import.meta.url));
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Runs the compiled CLI; never throws on a non-zero exit. */
function inlay(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test("bundle write scans a directory, applies flags and writes a bundle that bundle id names", async () => {
  const tmp = await makeTempDir();
  try {
    const root = join(tmp.path, "root");
    await mkdir(join(root, "usr/bin"), { recursive: true });
    await copyFile("/bin/true", join(root, "usr/bin/true"));
    await writeFile(join(root, "usr/bin/my app"), "#!/bin/sh\necho hi\n");
    await chmod(join(root, "usr/bin/my app"), 0o755);
    await writeFile(join(root, "usr/bin/readme.txt"), "not executable\n");
    const out = join(tmp.path, "bundle");

    const r = await inlay([
      "bundle", "write", "-o", out, "--manifest-dir", root,
      "--loader", "audit", "--block-name", "nc", "--block-name", "ncat", "--block-path", "/tmp/*",
      "--allow-sha256", sha("x"), "--allowlist", "audit", "--fail-open", "--activation", "serverless",
      "--dormant-env", "INLAY_HOST=1", "--dormant-path", "/run/host.sock", "--report-execs",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const bytes = await readFile(out);
    assert.equal(
      bytes.toString(),
      [
        "inlay-bundle 1",
        "fail-mode open",
        "activation serverless",
        "dormant-env INLAY_HOST=1",
        "dormant-path /run/host.sock",
        "control drift enforce",
        "control fileless enforce",
        "control loader audit",
        "control blocklist enforce",
        "control allowlist audit",
        "drift-source manifest",
        "report-execs on",
        "block-name nc",
        "block-name ncat",
        "block-path /tmp/*",
        `allow-sha256 ${sha("x")}`,
        `exe ${sha("#!/bin/sh\necho hi\n")} /usr/bin/my%20app`,
        `exe ${sha(await readFile("/bin/true"))} /usr/bin/true`,
        "end",
        "",
      ].join("\n"),
    );
    const id = `sha256:${sha(bytes)}`;
    assert.match(r.stdout, new RegExp(`wrote .*: ${id} \\(2 executables in the manifest\\)`));
    const idRun = await inlay(["bundle", "id", out]);
    assert.equal(idRun.code, 0, idRun.stderr);
    assert.equal(idRun.stdout, `${id}\n`);
    // No temporary file is left beside the output.
    assert.deepEqual((await readdir(tmp.path)).sort(), ["bundle", "root"]);
  } finally {
    await tmp.dispose();
  }
});

test("bundle write merges a partial spec file under the flags", async () => {
  const tmp = await makeTempDir();
  try {
    const spec = join(tmp.path, "spec.json");
    await writeFile(
      spec,
      JSON.stringify({
        controls: { drift: "audit", loader: "audit" },
        enforceAfter: { loader: 1800000000 },
        driftSource: "ctime",
        blockList: { names: ["nc"] },
      }),
    );
    const out = join(tmp.path, "b");
    const r = await inlay(["bundle", "write", "-o", out, "--spec", spec, "--drift", "enforce", "--block-name", "socat"]);
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(out, "utf8");
    assert.match(text, /control drift enforce\n/);
    assert.match(text, /control loader audit\n/);
    assert.match(text, /enforce-after loader 1800000000\ndrift-source ctime\n/);
    assert.match(text, /block-name nc\nblock-name socat\n/);
  } finally {
    await tmp.dispose();
  }
});

test("bundle write and id fail with a message naming what is wrong, and leave no file behind", async () => {
  const tmp = await makeTempDir();
  try {
    const out = join(tmp.path, "b");

    // Drift enforced against an empty manifest: refused, with the way out.
    let r = await inlay(["bundle", "write", "-o", out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Cannot write bundle .*\/b: manifest is empty .*pass --manifest-dir DIR, --drift-source ctime or --drift off/);

    // Bad values in flags.
    r = await inlay(["bundle", "write", "-o", out, "--drift-source", "ctime", "--block-sha256", "ABC"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /blockList\.sha256\[0\] must be 64 lower-case hex digits/);
    r = await inlay(["bundle", "write", "-o", out, "--drift-source", "ctime", "--block-path", "tmp/*"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /blockList\.pathGlobs\[0\] must be an absolute path/);
    r = await inlay(["bundle", "write", "-o", out, "--drift", "sometimes"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--drift <mode>' argument 'sometimes' is invalid/);
    r = await inlay(["bundle", "write", "--drift-source", "ctime"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /required option '-o, --output <file>'/);

    // Spec file problems name the file and the field.
    const spec = join(tmp.path, "spec.json");
    await writeFile(spec, "{ not json");
    r = await inlay(["bundle", "write", "-o", out, "--spec", spec]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`Cannot read the spec file ${spec}: not valid JSON`));
    await writeFile(spec, JSON.stringify({ controls: { drift: "block" } }));
    r = await inlay(["bundle", "write", "-o", out, "--spec", spec]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /spec\.json: controls\.drift: /);
    await writeFile(spec, JSON.stringify({ controls: { drift: "off" }, enforceAfter: { drift: 5 } }));
    r = await inlay(["bundle", "write", "-o", out, "--spec", spec]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /enforceAfter\.drift needs controls\.drift = "audit" \(it is "off"\)/);
    r = await inlay(["bundle", "write", "-o", out, "--spec", join(tmp.path, "missing.json")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Cannot read the spec file .*missing\.json: ENOENT/);

    // Scan and write failures.
    r = await inlay(["bundle", "write", "-o", out, "--manifest-dir", join(tmp.path, "nope")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Cannot scan directory .*nope/);
    r = await inlay(["bundle", "write", "-o", join(tmp.path, "no/such/dir/b"), "--drift", "off"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Cannot write .*no\/such\/dir\/b: ENOENT/);
    assert.deepEqual((await readdir(tmp.path)).sort(), ["spec.json"], "nothing written on failure");

    // bundle id on something that is not a bundle.
    r = await inlay(["bundle", "id", spec]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Cannot read bundle .*spec\.json: not an inlay bundle/);
    r = await inlay(["bundle", "id", tmp.path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a regular file/);
  } finally {
    await tmp.dispose();
  }
});

test("bundle id refuses a FIFO instead of waiting for a writer", { timeout: 10_000 }, async () => {
  const tmp = await makeTempDir();
  try {
    const fifo = join(tmp.path, "pipe");
    execFileSync("mkfifo", [fifo]);
    const r = await inlay(["bundle", "id", fifo]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `inlay: Cannot read bundle ${fifo}: not a regular file\n`);
  } finally {
    await tmp.dispose();
  }
});
