/** The examples in docs/policy.md are valid policies, and compile as the page says. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { compilePolicy, PolicyCompileError } from "../../src/policy/compile-policy.js";
import { parsePolicy } from "../../src/policy/load-policy.js";

const DOC = new URL("../../../docs/policy.md", import.meta.url);

test("every policy example in docs/policy.md is valid and compiles", async () => {
  const text = await readFile(DOC, "utf8");
  const blocks = [...text.matchAll(/```(yaml|json)\n([\s\S]*?)```/g)].filter((m) => m[2]!.includes("inlay.dev/v1"));
  assert.equal(blocks.length, 5);
  const refused: string[] = [];
  for (const [, lang, body] of blocks) {
    const { policy } = parsePolicy(body!, { file: `example.${lang}` });
    try {
      compilePolicy(policy, { buildTime: new Date(), manifest: [{ sha256: "a".repeat(64), path: "/bin/sh" }] });
    } catch (err) {
      assert.ok(err instanceof PolicyCompileError);
      refused.push(policy.metadata.name);
    }
  }
  assert.deepEqual(refused, []);
});
