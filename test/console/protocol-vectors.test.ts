/**
 * Replays the protocol test vectors (test/vectors/console/*.json) against a real console, so the
 * examples a C reporter is built against are exactly what the server does. Each file runs on a
 * fresh console with `{{enrolment_token}}`, `{{admin_token}}` and `{{group_id}}` set; see
 * docs/console-protocol.md for the format.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { httpCall } from "../helpers/http-call.js";
import { startFixture } from "./console-fixture.js";

// The vectors are data, not compiled: read them from the source tree.
const DIR = fileURLToPath(new URL("../../../test/vectors/console/", import.meta.url));

type Vars = Map<string, unknown>;

function substitute(v: unknown, vars: Vars): unknown {
  if (typeof v === "string") {
    return v.replace(/\{\{(\w+)\}\}/g, (m, name: string) => {
      if (!vars.has(name)) throw new Error(`Cannot substitute {{${name}}}: not captured yet`);
      return String(vars.get(name));
    });
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, vars));
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, vars)]));
  return v;
}

/** Matches `actual` against an expected value with {{capture:x}}, {{integer}}, {{string}} and {{var}} placeholders. */
function match(expected: unknown, actual: unknown, vars: Vars, where: string): void {
  if (typeof expected === "string") {
    const m = /^\{\{(capture:)?(\w+)\}\}$/.exec(expected);
    if (m !== null) {
      if (m[1] !== undefined) {
        assert.ok(actual !== undefined && actual !== null, `${where}: expected a value to capture`);
        vars.set(m[2]!, actual);
      } else if (m[2] === "integer") assert.ok(Number.isInteger(actual), `${where}: expected an integer, got ${JSON.stringify(actual)}`);
      else if (m[2] === "string") assert.ok(typeof actual === "string" && actual.length > 0, `${where}: expected a non-empty string`);
      else assert.equal(actual, vars.get(m[2]!), `${where}: expected the captured ${m[2]}`);
      return;
    }
  }
  if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === "object", `${where}: expected an object`);
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), `${where}: keys`);
    for (const [k, v] of Object.entries(expected)) match(v, (actual as Record<string, unknown>)[k], vars, `${where}.${k}`);
    return;
  }
  assert.deepEqual(actual, expected, where);
}

interface Exchange {
  comment?: string;
  request: { method: string; path: string; headers?: Record<string, string>; body_json?: unknown; body_ndjson?: string[]; encode?: "gzip" | "identity" };
  response: { status: number; headers?: Record<string, string>; body_json?: unknown; body_empty?: boolean };
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();

test("protocol vectors exist", () => {
  assert.ok(files.length >= 4, `found ${files.length} vector files in ${DIR}`);
});

for (const file of files) {
  test(`protocol vector ${file} replays against the console`, async () => {
    const vector = JSON.parse(readFileSync(DIR + file, "utf8")) as { protocol: number; exchanges: Exchange[] };
    assert.equal(vector.protocol, 1);
    const f = await startFixture("sqlite");
    try {
      const g = await f.group("vectors");
      const vars: Vars = new Map([
        ["enrolment_token", g.token],
        ["admin_token", f.adminToken],
        ["group_id", g.id],
      ]);
      for (const [i, x] of vector.exchanges.entries()) {
        const where = `${file} exchange ${i + 1}`;
        const headers = substitute(x.request.headers ?? {}, vars) as Record<string, string>;
        let body: string | Buffer | undefined;
        if (x.request.body_json !== undefined) body = JSON.stringify(substitute(x.request.body_json, vars));
        if (x.request.body_ndjson !== undefined) {
          const text = x.request.body_ndjson.join("\n") + "\n";
          body = x.request.encode === "gzip" ? gzipSync(text) : text;
        }
        const r = await httpCall(f.url + (substitute(x.request.path, vars) as string), { method: x.request.method, headers, body });
        assert.equal(r.status, x.response.status, `${where}: status (${r.body.toString().slice(0, 200)})`);
        for (const [h, v] of Object.entries(x.response.headers ?? {})) {
          const actual = r.headers[h.toLowerCase()];
          if (h.toLowerCase() === "content-type") assert.match(String(actual), new RegExp(`^${v}`), `${where}: header ${h}`);
          else match(v, actual, vars, `${where}: header ${h}`);
        }
        if (x.response.body_empty === true) assert.equal(r.body.length, 0, `${where}: empty body`);
        if (x.response.body_json !== undefined) match(x.response.body_json, r.json(), vars, `${where}: body`);
      }
    } finally {
      await f.dispose();
    }
  });
}
