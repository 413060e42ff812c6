/**
 * pgbench against a real PostgreSQL (Debian's) started natively and under the enforcer, with the
 * default policy and with every runtime control on, in the same run. PostgreSQL refuses to run as
 * root and the enforcer's no_new_privs forbids switching user below it, so the enforcer itself
 * runs as the postgres user (`runuser -u postgres -- inlay-enforcer ... -- postgres ...`).
 * fsync and synchronous_commit are off so the benchmark measures the server's CPU path, not the
 * disk. Methods are interleaved round by round (a fresh server start per method and round);
 * the table gives the median and best TPS.
 *
 * Run (as root, PostgreSQL 15 installed): `make -C enforcer && npx tsc -p tsconfig.json && node dist/bench/pgbench.js`
 * (writes docs/benchmarks.md).
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeBundle } from "../src/bundle/write-bundle.js";
import { compilePolicy } from "../src/policy/compile-policy.js";
import { defaultPolicy } from "../src/policy/default-policy.js";
import { freePort } from "../test/helpers/free-port.js";
import { machineLine, writeReportSection } from "./lib/report.js";
import { median, ratio } from "./lib/stats.js";

const ROUNDS = Number(process.env.PGBENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.PGBENCH_SECONDS ?? 10);
const CLIENTS = 4;
const SCALE = 4; // one branch row per client: little lock contention
const PG = "/usr/lib/postgresql/15/bin";
const build = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const enforcer = build("enforcer/build/x86_64/inlay-enforcer");
const report = build("docs/benchmarks.md");

function ok(argv: string[], what: string): string {
  process.stderr.write(`pgbench bench: ${what}\n`);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`Cannot ${what}: ${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (spawnSync(`${PG}/pg_isready`, ["-h", "127.0.0.1", "-p", String(port)]).status === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Cannot start PostgreSQL: not ready on port ${port} after 30 s`);
}

/** Fast shutdown: SIGINT to the postmaster (runuser does not forward SIGINT), then wait for runuser. */
async function stop(child: ChildProcess, data: string): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`Cannot stop PostgreSQL: bad postmaster.pid in ${data}`);
  process.kill(pid, "SIGINT");
  await done;
}

async function main(): Promise<void> {
  for (const f of [enforcer, `${PG}/postgres`, "/usr/bin/pgbench"]) if (!existsSync(f)) throw new Error(`Cannot benchmark: ${f} is missing`);
  const dir = await mkdtemp(join(tmpdir(), "inlay-bench-pg-"));
  chmodSync(dir, 0o755);
  const data = join(dir, "data");
  try {
    const uid = Number(ok(["id", "-u", "postgres"], "find the postgres user").trim());
    const gid = Number(ok(["id", "-g", "postgres"], "find the postgres group").trim());
    chownSync(dir, uid, gid); // initdb, the socket and the enforcer's event file live here
    ok(["runuser", "-u", "postgres", "--", `${PG}/initdb`, "-D", data, "-A", "trust", "-U", "postgres"], "initdb");
    const manifest = [{ sha256: createHash("sha256").update(readFileSync(`${PG}/postgres`)).digest("hex"), path: `${PG}/postgres` }];
    const dflt = join(dir, "default.bundle");
    await writeFile(dflt, writeBundle(compilePolicy(defaultPolicy().policy, { buildTime: new Date(), manifest })));
    const spec = compilePolicy(defaultPolicy().policy, { buildTime: new Date(), manifest });
    spec.controls.files = "enforce";
    spec.files = { readOnly: ["/etc", "/usr"], audited: spec.files?.audited ?? [] };
    const all = join(dir, "all.bundle");
    await writeFile(all, writeBundle(spec));
    for (const f of [dflt, all]) chownSync(f, uid, gid);

    const port = await freePort();
    const server = [`${PG}/postgres`, "-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", `unix_socket_directories=${dir}`];
    const events = join(dir, "events.ndjson");
    const methods = [
      { name: "native", argv: ["runuser", "-u", "postgres", "--", ...server] },
      { name: "enforcer, default policy", argv: ["runuser", "-u", "postgres", "--", enforcer, "--bundle", dflt, "--events", `file:${events}`, "--", ...server] },
      { name: "enforcer, every control on", argv: ["runuser", "-u", "postgres", "--", enforcer, "--bundle", all, "--events", `file:${events}`, "--", ...server] },
    ];
    const pgbench = (args: string[]) => ok(["pgbench", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", ...args, "postgres"], `run pgbench ${args.join(" ")}`);

    const tps = methods.map(() => [] as number[]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [k, m] of methods.entries()) {
        // The server's log goes to a file: a pipe would fill while spawnSync blocks the loop.
        const logFile = join(dir, `server-${round}-${k}.log`);
        const logFd = openSync(logFile, "w");
        const child = spawn(m.argv[0]!, m.argv.slice(1), { stdio: ["ignore", "ignore", logFd] });
        closeSync(logFd);
        try {
          await waitReady(port);
          if (round === 0 && k === 0) pgbench(["-i", "-q", "-s", String(SCALE)]);
          const out = pgbench(["-c", String(CLIENTS), "-j", "2", "-T", String(SECONDS), "-n"]);
          const t = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
          if (!t) throw new Error(`Cannot read TPS from pgbench: ${out}`);
          tps[k]!.push(Number(t[1]));
        } catch (err) {
          throw new Error(`Cannot benchmark ${m.name}: ${String(err)}\n${readFileSync(logFile, "utf8").slice(-2000)}`, { cause: err });
        } finally {
          await stop(child, data);
        }
      }
    }
    const denied = existsSync(events) ? readFileSync(events, "utf8").split("\n").filter((l) => l.includes('"action":"deny"')).length : 0;
    if (denied > 0) throw new Error(`Cannot trust the benchmark: the enforcer denied ${denied} actions of PostgreSQL (see ${events})`);
    const med = tps.map(median);
    const best = tps.map((xs) => Math.max(...xs));
    // Each round runs every method back to back, so a round's ratio cancels most of the drift in
    // the machine's speed between rounds; its median is the figure the goal is judged on.
    const paired = tps.map((xs) => median(xs.map((x, r) => x / tps[0]![r]!)));
    const rows = methods.map(
      (m, k) =>
        `| ${m.name} | ${med[k]!.toFixed(0)} | ${best[k]!.toFixed(0)} | ${tps[k]!.map((x) => x.toFixed(0)).join(", ")} | ${ratio(med[k]!, med[0]!)} / ${ratio(best[k]!, best[0]!)} | ${paired[k]!.toFixed(2)}× |`,
    );
    const verdicts = methods.slice(1).map((m, i) => {
      const p = paired[i + 1]!;
      return `- ${m.name}: median per-round TPS ratio ${p.toFixed(3)}× native — ${p >= 0.98 ? "**met** (no loss beyond 2%)" : "**not met**"}`;
    });
    const body = `## pgbench on PostgreSQL under the enforcer

Command (as root, Debian's PostgreSQL 15): \`make -C enforcer && npx tsc -p tsconfig.json && node dist/bench/pgbench.js\` — ${machineLine()}.

TPC-B-like pgbench (scale ${SCALE}, ${CLIENTS} clients, 2 threads, ${SECONDS} s, TCP on 127.0.0.1) against a server started
natively, or under \`inlay-enforcer\` running as the postgres user (PostgreSQL refuses root, and
no_new_privs forbids switching user below the enforcer). fsync and synchronous_commit off. A
fresh server per method and round, methods interleaved, ${ROUNDS} rounds. "every control on" is the
default policy plus \`files\` in enforce mode with read-only \`/etc\` and \`/usr\`. No action of
the server was denied (checked). Ratios: median / best TPS against native, and the median over
rounds of each round's TPS over that round's native TPS (the methods of a round run back to back,
so this cancels most of the drift between rounds; single runs still move by ±10%). Load average
at the end of the run: ${loadavg()[0]!.toFixed(2)} (the number is only comparable on a machine with nothing
else running).

| server | median TPS | best TPS | runs | / native (med / best) | per-round / native (median) |
|---|---|---|---|---|---|
${rows.join("\n")}

Goal (TPS within 2% of native), judged on the per-round median:
${verdicts.join("\n")}`;
    await writeReportSection(report, "pgbench", body);
    process.stdout.write(`${body}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
