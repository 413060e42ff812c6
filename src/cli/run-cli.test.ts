import { test } from "node:test";
import assert from "node:assert/strict";
import { runInlayToFullDisk } from "../../test/helpers/run-inlay.js";
import { buildProgram } from "./run-cli.js";

const topLevel = (names: readonly string[]): string[] => [...names].sort();

test("every command is registered when no command is named (help, --version, unknown command)", async () => {
  const all = (await buildProgram([])).commands.map((c) => c.name());
  assert.deepEqual(topLevel(all), topLevel(["bundle", "policy", "console", "workloads", "events", "enforcers", "groups", "policies", "embed", "scan"]));
  const unknown = (await buildProgram(["no-such-command"])).commands.map((c) => c.name());
  assert.deepEqual(topLevel(unknown), topLevel(all));
});

test("naming a command loads only its module, and that module registers exactly the names listed for it", async () => {
  const all = (await buildProgram([])).commands.map((c) => c.name());
  const seen = new Set<string>();
  for (const name of all) {
    const registered = (await buildProgram([name])).commands.map((c) => c.name());
    assert.ok(registered.includes(name), `${name} is registered when named`);
    // The module of `name` registers `name` and its siblings (console-api's five), nothing else.
    assert.ok(registered.length < all.length, `${name} loads only its own module (got ${registered.join(", ")})`);
    for (const r of registered) seen.add(r);
  }
  assert.deepEqual(topLevel([...seen]), topLevel(all));
});

test("a standard output that cannot be written is a failure with a message, not a crash or a silent success", async () => {
  const r = await runInlayToFullDisk(["policy", "default"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, "inlay: Cannot write to standard output: ENOSPC: no space left on device, write\n");
});
