/**
 * 5,000 simulated enforcers heart-beating every 30 s against one console process, on SQLite and
 * PostgreSQL (fsync on). Each enforcer has its own keep-alive connection, as real ones would.
 * Heartbeats fire on schedule whether or not earlier ones have returned (open loop), and latency
 * is measured from the scheduled time, so a stalled server cannot hide its queue. Floor, same run,
 * schedule and connections: a bare Node HTTP server (own process) answering `{}`.
 *
 * Run: `npx tsc -p tsconfig.json && node dist/bench/console-heartbeat.js` (writes docs/benchmarks.md).
 * Environment: ENFORCERS (5000), ROUNDS (2 heartbeats per enforcer).
 * @module
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Agent } from "node:http";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../test/helpers/free-port.js";
import { httpCall, jsonCall } from "../test/helpers/http-call.js";
import { startPostgres } from "../test/helpers/postgres.js";
import { makeTempDir } from "../test/helpers/temp-dir.js";
import { spawnConsole } from "../test/console/console-process.js";
import { machineLine, writeReportSection } from "./lib/report.js";

const ENFORCERS = Number(process.env.ENFORCERS ?? 5000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const INTERVAL_MS = 30_000;
const SECRET = "inlay_boot_bench-secret-0123456789";

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface Stats {
  n: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Fires `call(i)` for every enforcer i at i/N of each interval, for `rounds` intervals. */
async function schedule(rounds: number, call: (i: number) => Promise<number>): Promise<Stats> {
  const latencies: number[] = [];
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const t0 = performance.now() + 100;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < ENFORCERS; i++) {
      const at = t0 + r * INTERVAL_MS + (i * INTERVAL_MS) / ENFORCERS;
      const wait = at - performance.now();
      if (wait > 1) await sleep(wait);
      inflight.push(
        call(i).then(
          (status) => {
            if (status === 200) latencies.push(performance.now() - at);
            else errors++;
          },
          () => {
            errors++;
          },
        ),
      );
    }
  }
  await Promise.all(inflight);
  return { n: latencies.length, errors, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: Math.max(...latencies) };
}

/** The floor: the same schedule and connections against a bare Node HTTP server in its own process. */
async function bareServerFloor(agents: Agent[]): Promise<Stats> {
  const port = await freePort();
  const child = spawn(process.execPath, ["-e", `require("http").createServer((q, s) => { q.resume(); q.on("end", () => s.end("{}")); }).listen(${port}, "127.0.0.1", () => console.log("up"))`], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once("data", () => resolve());
      child.once("exit", (code) => reject(new Error(`Cannot start the floor server: exit ${code}`)));
    });
    return await schedule(1, async (i) => (await httpCall(`http://127.0.0.1:${port}/`, { method: "POST", body: "{}", agent: agents[i] })).status);
  } finally {
    child.kill("SIGKILL");
  }
}

async function runBackend(backend: "sqlite" | "postgres") {
  const tmp = await makeTempDir("inlay-bench-hb-");
  const pg = backend === "postgres" ? await startPostgres({ fsync: true }) : null;
  const agents: Agent[] = [];
  try {
    const location = pg === null ? join(tmp.path, "console.sqlite") : await pg.createDatabase("bench");
    const proc = await spawnConsole(["--database", location, "--listen", `127.0.0.1:${await freePort()}`], { INLAY_CONSOLE_BOOTSTRAP_TOKEN: SECRET });
    try {
      const url = proc.url;
      const admin = (await jsonCall(`${url}/api/v1/bootstrap`, null, "POST", { secret: SECRET, username: "admin", password: "admin-password-1" })).json().token;
      const group = (await jsonCall(`${url}/api/v1/groups`, admin, "POST", { name: "bench" })).json().id;
      const enrol = (await jsonCall(`${url}/api/v1/groups/${group}/enrolment-tokens`, admin, "POST")).json().token;
      const credentials: string[] = new Array(ENFORCERS);
      const regStart = performance.now();
      let throttled = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < ENFORCERS) {
            const i = next++;
            const registration = {
              protocol: 1, instance: randomBytes(16).toString("hex"), enforcer_version: "0.1.0", mode: "enforce", tier: "full", bundle: "none", policy_in_force: "baked",
              image: { name: "app", digest: "" }, platform: { cloud: "aws", region: "eu-west-1", cluster: `c${i % 10}`, service: `s${i % 100}`, task: `t${i}` },
            };
            let r = await jsonCall(`${url}/api/enforcer/v1/register`, enrol, "POST", registration);
            // One enrolment token for the whole fleet hits its rate limit; wait as the protocol says.
            while (r.status === 429) {
              throttled++;
              await sleep(Number(r.headers["retry-after"] ?? 1) * 1000);
              r = await jsonCall(`${url}/api/enforcer/v1/register`, enrol, "POST", registration);
            }
            if (r.status !== 201) throw new Error(`Cannot register enforcer ${i}: ${r.status} ${r.body}`);
            credentials[i] = r.json().credential;
          }
        }),
      );
      const registerSeconds = (performance.now() - regStart) / 1000;
      for (let i = 0; i < ENFORCERS; i++) agents.push(new Agent({ keepAlive: true, maxSockets: 1 }));
      const body = JSON.stringify({ mode: "enforce", tier: "full", policy_in_force: "baked", dropped_total: 0, buffered: 0 });
      const load0 = loadavg()[0]!;
      const heartbeat = await schedule(ROUNDS, async (i) =>
        (await httpCall(`${url}/api/enforcer/v1/heartbeat`, { method: "POST", headers: { authorization: `Bearer ${credentials[i]}`, "content-type": "application/json" }, body, agent: agents[i] })).status,
      );
      const floor = await bareServerFloor(agents);
      const stale = (await jsonCall(`${url}/api/v1/workloads?stale=true&limit=1`, admin)).json().items.length;
      if (stale !== 0) throw new Error("Cannot trust the run: some enforcers went stale");
      return { backend, registerSeconds, throttled, heartbeat, floor, load: ((load0 + loadavg()[0]!) / 2).toFixed(1) };
    } finally {
      await proc.kill();
    }
  } finally {
    for (const a of agents) a.destroy();
    await pg?.dispose();
    await tmp.dispose();
  }
}

const rows = [];
for (const backend of ["sqlite", "postgres"] as const) {
  const r = await runBackend(backend);
  console.log(JSON.stringify(r));
  rows.push(r);
}
const ms = (x: number) => `${x.toFixed(1)} ms`;
const body = `## Console: 5,000 enforcers heart-beating

Command: \`npx tsc -p tsconfig.json && node dist/bench/console-heartbeat.js\` — ${machineLine()}.

${ENFORCERS} simulated enforcers (one keep-alive connection each, plain HTTP on loopback) send a
heartbeat every 30 s, spread evenly (${(ENFORCERS / 30).toFixed(0)} requests/s), for ${ROUNDS} rounds, against
\`inlay console\` running as its own process; the client runs on the same 2 cores. Each heartbeat
authenticates the credential (SHA-256 lookup), updates the workload row (committed: SQLite
\`synchronous=FULL\`, PostgreSQL \`fsync=on\`) and resolves the group's policy ETag. Latency is
counted from the scheduled send time (open loop). Floor, same run, schedule and connections: a
bare Node HTTP server in its own process answering \`{}\` (what any HTTP service costs here).
Registration uses one enrolment token for all, so it runs into that token's rate limit
(100/s, burst 400) and waits \`Retry-After\` as the protocol says; the 429 count is shown.
Goal: p99 < 50 ms. "load" is the 1-minute load average during the run (other work shares the machine).

| backend | heartbeats | errors | p50 | p95 | p99 | max | floor p50 / p99 | registration of all (429s) | load |
|---|---|---|---|---|---|---|---|---|---|
${rows
  .map((r) => `| ${r.backend} | ${r.heartbeat.n} | ${r.heartbeat.errors} | ${ms(r.heartbeat.p50)} | ${ms(r.heartbeat.p95)} | ${ms(r.heartbeat.p99)} | ${ms(r.heartbeat.max)} | ${ms(r.floor.p50)} / ${ms(r.floor.p99)} | ${r.registerSeconds.toFixed(1)} s (${r.throttled}) | ${r.load} |`)
  .join("\n")}
`;
await writeReportSection(fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url)), "console-heartbeat", body);
console.log(body);
