/**
 * `inlay policy ...` end to end: the compiled CLI in a child process, its exit codes and messages.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir } from "../helpers/temp-dir.js";
import { DEFAULT_POLICY_YAML } from "../../src/policy/default-policy.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../../../test/fixtures/policy/learn-run.ndjson", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function inlay(args: string[], options: { cwd: string; stdin?: string; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, SOURCE_DATE_EPOCH: "", ...options.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

const HEAD = "apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata:\n  name: web\n";

test("inlay policy: exit codes and messages, end to end", async (t) => {
  const dir = await makeTempDir();
  t.after(() => dir.dispose());
  const cwd = dir.path;
  const write = (name: string, text: string) => writeFile(join(cwd, name), text);

  await t.test("default prints the default policy, which checks clean from stdin", async () => {
    const def = await inlay(["policy", "default"], { cwd });
    assert.equal(def.code, 0);
    assert.equal(def.stdout, DEFAULT_POLICY_YAML);
    const check = await inlay(["policy", "check", "-"], { cwd, stdin: def.stdout });
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout, '(stdin): valid policy "default"\n');
    // every rule of the default is in force with its mode: nothing to note
    assert.doesNotMatch(check.stderr, /note:|WARNING/, check.stderr);
  });

  await t.test("overlay prints the policy overlay a console serves, and refuses what a console policy cannot say", async () => {
    await write("console.yaml", `${HEAD}spec:\n  executables:\n    block: {mode: enforce, names: [nc]}\n`);
    const r = await inlay(["policy", "overlay", "console.yaml"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^inlay-policy 1\ncontrol drift enforce\n[\s\S]*\nblock-name nc\n[\s\S]*\nend\n$/);
    assert.doesNotMatch(r.stdout, /^exe /m, "no manifest: drift's exe lines come from the image");
    const out = await inlay(["policy", "overlay", "console.yaml", "-o", "console.overlay"], { cwd });
    assert.equal(out.code, 0, out.stderr);
    const bytes = await readFile(join(cwd, "console.overlay"));
    assert.equal(bytes.toString("utf8"), r.stdout);
    assert.match(out.stderr, new RegExp(`(^|\n)inlay: wrote console\\.overlay: sha256:${createHash("sha256").update(bytes).digest("hex")}\n$`));
    await write("relative.yaml", `${HEAD}spec:\n  executables:\n    drift: {mode: enforce, source: manifest-free}\n    loader: {mode: {enforce: {afterDaysFromBuild: 3}}}\n`);
    const refused = await inlay(["policy", "overlay", "relative.yaml"], { cwd });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /relative\.yaml:\d+:\d+: spec\.executables\.loader\.mode.*afterDaysFromBuild: 3.*use enforce: \{after: <date>\} in a console policy/);
    // Negative control: the same policy compiles as a bundle, where the build time is known.
    const bundle = await inlay(["policy", "compile", "relative.yaml", "--print-spec", "--build-time", "2026-01-01T00:00:00Z"], { cwd });
    assert.equal(bundle.code, 0, bundle.stderr);
    assert.equal(JSON.parse(bundle.stdout).enforceAfter.loader, Date.parse("2026-01-04T00:00:00Z") / 1000);
  });

  await t.test("an invalid policy exits 1 and names file:line:col, field and what is valid", async () => {
    await write("bad.yaml", `${HEAD}spec:\n  executables:\n    drift:\n      mode: enforced\n      colour: red\n`);
    const r = await inlay(["policy", "check", "bad.yaml"], { cwd });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      "inlay: Cannot read policy bad.yaml: 2 problems\n" +
        'bad.yaml:8:13: spec.executables.drift.mode: is "enforced"; expected one of off, audit, enforce, {enforce: {after: "<ISO 8601 date-time>"}} or {enforce: {afterDaysFromBuild: <days>}}\n' +
        'bad.yaml:9:7: spec.executables.drift.colour: unknown field "colour"; valid fields here: mode, source, pathStrict\n',
    );
    await write("bad.json", '{"apiVersion": "inlay.dev/v1", "kind": "RuntimePolicy",\n "metadata": {"name": "x"}, "spec": {"failMode": "ajar"}}\n');
    const json = await inlay(["policy", "explain", "bad.json"], { cwd });
    assert.equal(json.code, 1);
    assert.equal(json.stderr, 'inlay: Cannot read policy bad.json: 1 problem\nbad.json:2:50: spec.failMode: is "ajar"; expected closed (refuse to start without protection) or open\n');
  });

  await t.test("something this enforcer cannot enforce is refused (exit 3) unless --allow-unenforced, which warns per item", async () => {
    await write(
      "net.yaml",
      `${HEAD}spec:\n  files:\n    readOnly: {mode: enforce, paths: ["/srv/*.conf"]}\n  network:\n    outbound: {mode: audit, block: [{cidr: 10.0.0.0/8, protocol: udp}]}\n`,
    );
    const refused = await inlay(["policy", "check", "net.yaml"], { cwd });
    assert.equal(refused.code, 3);
    assert.equal(
      refused.stderr,
      // the UDP-only block rule is enforced now: only the glob is refused
      "inlay: Cannot compile policy net.yaml: 1 problem\n" +
        'net.yaml:7:39: spec.files.readOnly.paths.0: path "/srv/*.conf" is not supported by this enforcer version yet: file controls take a path or DIR/* (everything below DIR), so it is left out; name the file or its directory, or pass --allow-unenforced to build without it\n',
    );
    const allowed = await inlay(["policy", "check", "--allow-unenforced", "net.yaml"], { cwd });
    assert.equal(allowed.code, 0, allowed.stderr);
    const warnings = allowed.stderr.split("\n").filter((l) => l.startsWith("inlay: WARNING: NOT ENFORCED (--allow-unenforced): "));
    assert.deepEqual(
      warnings.map((l) => /: (net\.yaml:\d+:\d+: [\w.]+):/.exec(l)?.[1]),
      ["net.yaml:7:39: spec.files.readOnly.paths.0"],
    );
  });

  await t.test("compile scans --manifest-dir into the drift manifest and resolves --build-time", async () => {
    const root = join(cwd, "rootfs");
    await mkdir(join(root, "bin"), { recursive: true });
    const script = "#!/bin/sh\necho hi\n";
    await writeFile(join(root, "bin", "hello"), script);
    await chmod(join(root, "bin", "hello"), 0o755);
    await writeFile(join(root, "README"), "not executable");
    await write("later.yaml", `${HEAD}spec:\n  executables:\n    fileless: {mode: {enforce: {afterDaysFromBuild: 2}}}\n`);
    const r = await inlay(
      ["policy", "compile", "later.yaml", "--print-spec", "--manifest-dir", root, "--build-time", "2026-11-28T00:00:00Z"],
      { cwd },
    );
    assert.equal(r.code, 0, r.stderr);
    const spec = JSON.parse(r.stdout) as { manifest: unknown; controls: Record<string, string>; enforceAfter: Record<string, number> };
    assert.deepEqual(spec.manifest, [{ sha256: createHash("sha256").update(script).digest("hex"), path: "/bin/hello" }]);
    assert.equal(spec.controls["fileless"], "audit");
    assert.equal(spec.enforceAfter["fileless"], Date.UTC(2026, 10, 30) / 1000);
  });

  await t.test("compile -o writes the bundle atomically and names its id", async () => {
    const root = join(cwd, "rootfs");
    const r = await inlay(["policy", "compile", "later.yaml", "-o", "out.bundle", "--manifest-dir", root, "--build-time", "2026-11-28T00:00:00Z"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const bytes = await readFile(join(cwd, "out.bundle"));
    const id = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    assert.match(r.stderr, new RegExp(`^inlay: wrote out\\.bundle: ${id} \\(1 executables in the manifest\\)$`, "m"));
    const lines = bytes.toString("utf8").split("\n");
    assert.equal(lines[0], "inlay-bundle 1");
    assert.ok(lines.includes("control fileless audit"));
    assert.ok(lines.includes(`enforce-after fileless ${Date.UTC(2026, 10, 30) / 1000}`));
    assert.ok(lines.includes("block-name xmrig"));
    assert.ok(lines.includes(`exe ${createHash("sha256").update("#!/bin/sh\necho hi\n").digest("hex")} /bin/hello`));
    assert.deepEqual(lines.slice(-2), ["end", ""]);
    assert.ok(!(await readdir(cwd)).some((n) => n.includes(".tmp-")), "no temporary file left behind");
    // A refused compile leaves an existing bundle untouched.
    await write("refused.yaml", `${HEAD}spec:\n  files:\n    readOnly: {mode: enforce, paths: ["/srv/*.conf"]}\n`);
    const refused = await inlay(["policy", "compile", "refused.yaml", "-o", "out.bundle", "--manifest-dir", root], { cwd });
    assert.equal(refused.code, 3);
    assert.deepEqual(await readFile(join(cwd, "out.bundle")), bytes);
  });

  await t.test("compile without a manifest for manifest drift is refused with what to do", async () => {
    const r = await inlay(["policy", "compile", "later.yaml", "--print-spec"], { cwd });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^later\.yaml: spec\.executables\.drift \(default\): drift with source manifest needs the image's executables, and none were given; compile with --manifest-dir DIR/m);
    assert.equal(r.stdout, "");
  });

  await t.test("usage errors exit 2: no output chosen, a bad --build-time", async () => {
    const none = await inlay(["policy", "compile", "later.yaml"], { cwd });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Cannot compile: say where the bundle goes with -o BUNDLE/);
    const badTime = await inlay(["policy", "explain", "later.yaml", "--build-time", "yesterday"], { cwd });
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /expected an ISO 8601 date-time with a zone/);
  });

  await t.test("the build time comes from SOURCE_DATE_EPOCH when --build-time is absent; a bad one is a usage error", async () => {
    const r = await inlay(["policy", "explain", "later.yaml"], { cwd, env: { SOURCE_DATE_EPOCH: String(Date.UTC(2027, 0, 1) / 1000) } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /reported until 2027-01-03T00:00:00\.000Z, blocked from then on/);
    const bad = await inlay(["policy", "explain", "later.yaml"], { cwd, env: { SOURCE_DATE_EPOCH: "soon" } });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'inlay: Cannot use SOURCE_DATE_EPOCH="soon" as the build time: expected whole seconds since 1970, or pass --build-time\n');
  });

  await t.test("unreadable inputs exit 4 and name the file", async () => {
    const r = await inlay(["policy", "check", "missing.yaml"], { cwd });
    assert.equal(r.code, 4);
    assert.equal(r.stderr, "inlay: Cannot read policy missing.yaml: ENOENT\n");
  });

  await t.test("explain says what is blocked, in plain words", async () => {
    const r = await inlay(["policy", "explain", "later.yaml", "--build-time", "2026-11-28T00:00:00Z"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Audited first, blocked later:\n {2}- running a program from memory \(memfd\) or from a deleted file \(fileless\): reported until 2026-11-30T00:00:00\.000Z, blocked from then on$/m);
  });

  await t.test("suggest writes a policy from events that checks clean, network part included", async () => {
    const r = await inlay(["policy", "suggest", FIXTURE, "-o", "suggested.yaml", "--name", "learned"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(join(cwd, "suggested.yaml"), "utf8");
    assert.match(text, /^ {8}- "\/usr\/bin\/node"$/m);
    assert.ok(!(await readdir(cwd)).some((n) => n.includes(".tmp-")), "no temporary file left behind");
    const check = await inlay(["policy", "check", "suggested.yaml"], { cwd });
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout, 'suggested.yaml: valid policy "learned"\n');
    const badName = await inlay(["policy", "suggest", FIXTURE, "--name", "my policy"], { cwd });
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /^inlay: Cannot suggest a policy named "my policy": --name takes letters/);
    await write("junk.ndjson", '{"schema":1,"id":"nope"}\n');
    const bad = await inlay(["policy", "suggest", "junk.ndjson"], { cwd });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^inlay: Cannot read events junk\.ndjson:1: not a valid event: /);
  });
});

test("inputs that never end are refused at a limit, naming the file", async () => {
  const tmp = await makeTempDir("inlay-policy-cli-");
  try {
    const policy = await inlay(["policy", "check", "/dev/zero"], { cwd: tmp.path });
    assert.equal(policy.code, 1);
    assert.equal(policy.stderr, "inlay: Cannot read policy /dev/zero: it is larger than 4194304 bytes; a policy is a few kilobytes\n");
    const spec = await inlay(["bundle", "write", "-o", "b", "--spec", "/dev/zero", "--drift", "off"], { cwd: tmp.path });
    assert.equal(spec.code, 1);
    assert.equal(spec.stderr, "inlay: Cannot read the spec file /dev/zero: it is larger than 268435456 bytes\n");
    assert.deepEqual(await readdir(tmp.path), [], "no bundle written");
    const events = await inlay(["policy", "suggest", "/dev/zero", "-o", "p.yaml"], { cwd: tmp.path });
    assert.equal(events.code, 1);
    assert.equal(events.stderr, "inlay: Cannot read events /dev/zero:1: a line goes on past 67108864 bytes without a line break; this is not an events file\n");
    const missing = await inlay(["policy", "suggest", "missing.ndjson"], { cwd: tmp.path });
    assert.equal(missing.stderr, "inlay: Cannot read events missing.ndjson: ENOENT\n");
    assert.deepEqual(await readdir(tmp.path), [], "nothing written");
  } finally {
    await tmp.dispose();
  }
});
