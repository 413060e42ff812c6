/**
 * Event ingest rate of the console on SQLite and PostgreSQL (fsync on), end to end: the console
 * runs as its own process (`inlay console`), 4 simulated enforcers each keep one gzip'd NDJSON
 * batch of 1,000 events in flight, and a batch counts when its acknowledgement (sent after
 * commit) arrives. Side by side in the same run, the floor: the same rows written straight into
 * the same schema (better-sqlite3 prepared statement in 1,000-row transactions for SQLite; the
 * console's own store layer without HTTP or validation for both).
 *
 * Run: `npx tsc -p tsconfig.json && node dist/bench/console-ingest.js` (writes docs/benchmarks.md).
 * @module
 */
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import SqliteDatabase from "better-sqlite3";
import { openDatabase } from "../src/console/db/open-database.js";
import { createEventWriter } from "../src/console/store/events.js";
import { registerEnforcer } from "../src/console/store/enforcers.js";
import { createGroup } from "../src/console/store/groups.js";
import { eventSchema, type InlayEvent } from "../src/events/event-schema.js";
import { freePort } from "../test/helpers/free-port.js";
import { httpCall, jsonCall } from "../test/helpers/http-call.js";
import { startPostgres } from "../test/helpers/postgres.js";
import { makeTempDir } from "../test/helpers/temp-dir.js";
import { spawnConsole } from "../test/console/console-process.js";
import { machineLine, writeReportSection } from "./lib/report.js";
import { median } from "./lib/stats.js";

const ENFORCERS = 4;
const BATCH = 1000;
const BATCHES_PER_ENFORCER = Number(process.env.BATCHES ?? 40);
const SECRET = "inlay_boot_bench-secret-0123456789";

function makeEvent(instance: string, seq: number): InlayEvent {
  return {
    schema: 1,
    id: `${instance}-${seq}`,
    time: new Date(Date.UTC(2026, 10, 28, 22, 0, 0, seq)).toISOString(),
    kind: seq % 10 === 0 ? "exec.fileless" : "exec.drift",
    severity: "high",
    action: "deny",
    mode: "enforce",
    rule: "drift.manifest",
    reason: "executed file is not in the image manifest",
    process: { pid: 100 + (seq % 1000), ppid: 1, uid: 0, exe: `/tmp/payload-${seq % 97}`, sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", argv: [`/tmp/payload-${seq % 97}`, "--connect", "10.0.0.1:4444"], argv_truncated: false, cwd: "/app" },
    enforcer: { version: "0.1.0", pid: 1, instance },
    bundle: `sha256:${"0e".repeat(32)}`,
  };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface Result {
  backend: string;
  events: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  storeRate: number;
  nativeRate: number | null;
  wireBytesPerEvent: number;
  validateRate: number;
  load: string;
}

async function runBackend(backend: "sqlite" | "postgres"): Promise<Result> {
  const tmp = await makeTempDir("inlay-bench-ingest-");
  const pg = backend === "postgres" ? await startPostgres({ fsync: true }) : null;
  try {
    const location = pg === null ? join(tmp.path, "console.sqlite") : await pg.createDatabase("bench");
    const port = await freePort();
    const proc = await spawnConsole(["--database", location, "--listen", `127.0.0.1:${port}`], { INLAY_CONSOLE_BOOTSTRAP_TOKEN: SECRET });
    let result: Omit<Result, "storeRate" | "nativeRate" | "validateRate" | "load">;
    const load0 = loadavg()[0]!;
    try {
      const url = proc.url;
      const admin = (await jsonCall(`${url}/api/v1/bootstrap`, null, "POST", { secret: SECRET, username: "admin", password: "admin-password-1" })).json().token;
      const group = (await jsonCall(`${url}/api/v1/groups`, admin, "POST", { name: "bench" })).json().id;
      const enrol = (await jsonCall(`${url}/api/v1/groups/${group}/enrolment-tokens`, admin, "POST")).json().token;
      const senders: { credential: string; batches: Buffer[] }[] = [];
      let wire = 0;
      for (let e = 0; e < ENFORCERS; e++) {
        const instance = randomBytes(16).toString("hex");
        const reg = await jsonCall(`${url}/api/enforcer/v1/register`, enrol, "POST", {
          protocol: 1, instance, enforcer_version: "0.1.0", mode: "enforce", tier: "full", bundle: "none", policy_in_force: "baked",
          image: { name: "app", digest: "" }, platform: { cloud: "aws", cluster: "bench", service: `svc-${e}` },
        });
        const batches: Buffer[] = [];
        for (let b = 0; b < BATCHES_PER_ENFORCER; b++) {
          const lines = Array.from({ length: BATCH }, (_, i) => JSON.stringify(makeEvent(instance, b * BATCH + i + 1)));
          const gz = gzipSync(lines.join("\n") + "\n");
          wire += gz.length;
          batches.push(gz);
        }
        senders.push({ credential: reg.json().credential, batches });
      }
      const latencies: number[] = [];
      const t0 = performance.now();
      await Promise.all(
        senders.map(async (s) => {
          for (const body of s.batches) {
            const t = performance.now();
            const r = await httpCall(`${url}/api/enforcer/v1/events`, {
              method: "POST",
              headers: { authorization: `Bearer ${s.credential}`, "content-type": "application/x-ndjson", "content-encoding": "gzip" },
              body,
            });
            if (r.status !== 200 || r.json().accepted !== BATCH) throw new Error(`Cannot benchmark: batch answered ${r.status} ${r.body.toString().slice(0, 200)}`);
            latencies.push(performance.now() - t);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const events = ENFORCERS * BATCHES_PER_ENFORCER * BATCH;
      const check = await jsonCall(`${url}/api/v1/events?limit=1`, admin);
      if (check.json().items[0]?.seq === undefined) throw new Error("Cannot benchmark: no events stored");
      result = { backend, events, seconds, rate: events / seconds, p50: median(latencies), p99: percentile(latencies, 99), wireBytesPerEvent: wire / events };
    } finally {
      await proc.kill();
    }

    // Floor 1: the store layer alone (no HTTP, no gzip, no validation), same batch size.
    const storeLocation = pg === null ? join(tmp.path, "store.sqlite") : await pg.createDatabase("bench_store");
    const store = await openDatabase(storeLocation);
    let storeRate: number;
    try {
      const g = await createGroup(store.db, { name: "g", actor: "bench" });
      const instance = randomBytes(16).toString("hex");
      const enf = await registerEnforcer(store.db, g.id, {
        instance, enforcer_version: "0.1.0", mode: "enforce", tier: "full", bundle: "none", policy_in_force: "baked", image: { name: "app", digest: "" },
        platform: { cloud: "", account: "", region: "", cluster: "", service: "", task: "", container: "" },
      });
      const batches = Array.from({ length: ENFORCERS * BATCHES_PER_ENFORCER }, (_, b) =>
        Array.from({ length: BATCH }, (_, i) => {
          const event = makeEvent(instance, b * BATCH + i + 1);
          return { event, line: JSON.stringify(event) };
        }),
      );
      const t0 = performance.now();
      const writer = createEventWriter(store);
      for (const b of batches) await writer.store(enf.id, b);
      storeRate = (batches.length * BATCH) / ((performance.now() - t0) / 1000);
    } finally {
      await store.close();
    }

    // Floor 2 (SQLite): a prepared INSERT in 1,000-row transactions, straight into the migrated schema.
    let nativeRate: number | null = null;
    if (pg === null) {
      const file = join(tmp.path, "native.sqlite");
      await (await openDatabase(file)).close();
      const db = new SqliteDatabase(file);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      const ins = db.prepare("insert into events (id, enforcer_id, time_ms, received_ms, kind, severity, action, rule, body) values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing");
      const instance = randomBytes(16).toString("hex");
      const lines = Array.from({ length: ENFORCERS * BATCHES_PER_ENFORCER * BATCH }, (_, i) => makeEvent(instance, i + 1));
      const txn = db.transaction((rows: InlayEvent[]) => {
        for (const e of rows) ins.run(e.id, "x", Date.parse(e.time), Date.now(), e.kind, e.severity, e.action, e.rule, JSON.stringify(e));
      });
      const t0 = performance.now();
      for (let i = 0; i < lines.length; i += BATCH) txn(lines.slice(i, i + BATCH));
      nativeRate = lines.length / ((performance.now() - t0) / 1000);
      db.close();
    }
    // Floor 3: JSON.parse plus the zod event schema alone, per line, as the console does.
    const sample = Array.from({ length: 50_000 }, (_, i) => JSON.stringify(makeEvent("f".repeat(32), i + 1)));
    const tv = performance.now();
    for (const line of sample) eventSchema.parse(JSON.parse(line));
    const validateRate = sample.length / ((performance.now() - tv) / 1000);
    return { ...result, storeRate, nativeRate, validateRate, load: ((load0 + loadavg()[0]!) / 2).toFixed(1) };
  } finally {
    await pg?.dispose();
    await tmp.dispose();
  }
}

const results: Result[] = [];
for (const backend of ["sqlite", "postgres"] as const) {
  const r = await runBackend(backend);
  results.push(r);
  console.log(JSON.stringify(r));
}
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const body = `## Console: event ingest

Command: \`npx tsc -p tsconfig.json && node dist/bench/console-ingest.js\` — ${machineLine()}.

The console runs as its own process (\`inlay console\`, plain HTTP on loopback); ${ENFORCERS} simulated
enforcers each keep one batch of ${BATCH} events in flight (gzip'd NDJSON, ${results[0]!.wireBytesPerEvent.toFixed(0)} bytes per event on the
wire, pre-built so the client costs little); a batch counts when its acknowledgement, sent after
the commit, arrives. ${fmt(results[0]!.events)} events per backend. SQLite runs with WAL and \`synchronous=FULL\`,
PostgreSQL 15 with \`fsync=on\`, both on the same disk. Floors measured in the same run: the store
layer alone (same batches, no HTTP, gzip or validation) and, for SQLite, a prepared INSERT in
1,000-row transactions; and the per-line validation alone (\`JSON.parse\` + the zod event schema,
which the console runs in a worker thread beside the inserts). "load" is the 1-minute load average
during the run. Goal: ≥ 50,000 events/s on SQLite. The machine is shared with other work,
so expect noise of tens of percent.

| backend | end to end | batch latency p50 / p99 | store layer alone | prepared INSERT (native) | end to end / native | validation alone | load |
|---|---|---|---|---|---|---|---|
${results
  .map((r) => `| ${r.backend} | ${fmt(r.rate)} events/s | ${r.p50.toFixed(0)} / ${r.p99.toFixed(0)} ms | ${fmt(r.storeRate)} events/s | ${r.nativeRate === null ? "—" : `${fmt(r.nativeRate)} events/s`} | ${r.nativeRate === null ? "—" : `${(r.rate / r.nativeRate).toFixed(2)}×`} | ${fmt(r.validateRate)} lines/s | ${r.load} |`)
  .join("\n")}
`;
await writeReportSection(fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url)), "console-ingest", body);
console.log(body);
