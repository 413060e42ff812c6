/**
 * The TypeScript writer against the enforcer's C parser: every bundle the writer makes (the valid
 * vectors and 150 random specs full of hostile characters) is read back by
 * enforcer/build/tools/bundle-dump, which prints what the parser understood; it must be the spec
 * that was written, and the parser's id must be the writer's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BundleSpec, ControlMode, ExecutableList } from "../../src/bundle/bundle-spec.js";
import { bundleId, CONTROL_NAMES, RUNTIME_CONTROL_NAMES, writeBundle } from "../../src/bundle/write-bundle.js";
import { makeTempDir } from "../helpers/temp-dir.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dumpTool = join(root, "enforcer/build/tools/bundle-dump");
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const sortedUnique = (xs: string[]) => [...new Set(xs)].sort(byBytes);

/** What the C parser should report for a spec: lists as written, manifest in hash order. */
function expected(spec: BundleSpec, id: string) {
  const list = (l: ExecutableList) => ({ names: sortedUnique(l.names), pathGlobs: sortedUnique(l.pathGlobs), sha256: sortedUnique(l.sha256) });
  // Audit entries also in the control's list are written once, without the token.
  const weaker = (xs: string[], stronger: string[]) => sortedUnique(xs).filter((x) => !stronger.includes(x));
  const a = spec.blockListAudit;
  const audit = a
    ? { names: weaker(a.names, spec.blockList.names), pathGlobs: weaker(a.pathGlobs, spec.blockList.pathGlobs), sha256: weaker(a.sha256, spec.blockList.sha256) }
    : undefined;
  const hasAudit = audit !== undefined && audit.names.length + audit.pathGlobs.length + audit.sha256.length > 0;
  const manifest = new Map(spec.manifest.map((e) => [e.path, e.sha256]));
  const all = [...CONTROL_NAMES, ...RUNTIME_CONTROL_NAMES];
  const runtime: Record<string, unknown> = {};
  if (spec.network) {
    const lines = sortedUnique(spec.network.connect.map((r) => `${r.action} ${r.cidr} ${r.ports}${r.protocol ? ` ${r.protocol}` : ""}`));
    const listen = sortedUnique(spec.network.listen.map((l) => (typeof l === "string" ? l : `${l.ports} ${l.protocol}`)));
    runtime.network = {
      connect: lines.map((l) => {
        const [action, cidr, ports, protocol] = l.split(" ");
        return { action, cidr, ports, ...(protocol ? { protocol } : {}) };
      }),
      default: spec.network.default,
      listenDefault: spec.network.listenDefault,
      listen: listen.map((l) => {
        const [ports, protocol] = l.split(" ");
        return protocol ? { ports, protocol } : ports;
      }),
    };
  }
  const readOnly = sortedUnique(spec.files?.readOnly ?? []);
  const audited = sortedUnique(spec.files?.audited ?? []);
  if (readOnly.length || audited.length) runtime.files = { readOnly, audited };
  if (spec.shellNames?.length) runtime.shellNames = sortedUnique(spec.shellNames);
  return {
    ...runtime,
    id,
    failMode: spec.failMode,
    activation: spec.activation,
    dormancy: { env: sortedUnique(spec.dormancy.env), paths: sortedUnique(spec.dormancy.paths) },
    controls: Object.fromEntries(Object.entries(spec.controls).filter(([c, m]) => (CONTROL_NAMES as readonly string[]).includes(c) || m !== "off")),
    enforceAfter: Object.fromEntries(all.filter((c) => spec.enforceAfter[c] !== undefined).map((c) => [c, spec.enforceAfter[c]])),
    driftSource: spec.driftSource,
    reportExecs: spec.reportExecs,
    ...(spec.driftPathStrict === true ? { driftPathStrict: true } : {}),
    blockList: list(spec.blockList),
    ...(hasAudit ? { blockListAudit: audit } : {}),
    allowList: list(spec.allowList),
    manifest: [...manifest]
      .map(([path, sha256]) => ({ sha256, path }))
      .sort((a, b) => (a.sha256 === b.sha256 ? byBytes(a.path, b.path) : a.sha256 < b.sha256 ? -1 : 1)),
    ...(spec.console
      ? {
          console: {
            url: spec.console.url,
            ...(spec.console.ca !== undefined ? { ca: spec.console.ca } : {}),
            ...(spec.console.enrolToken !== undefined ? { enrolToken: spec.console.enrolToken } : {}),
            ...(spec.console.plainHttp === true ? { plainHttp: true } : {}),
            ...(spec.console.waitForPolicy ? { waitForPolicy: spec.console.waitForPolicy } : {}),
          },
        }
      : {}),
  };
}

function parseWithC(file: string): unknown {
  return JSON.parse(execFileSync(dumpTool, [file], { encoding: "utf8" }));
}

/** A small seeded PRNG (mulberry32): failures name the seed and reproduce. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ["a", "Z", "0", " ", "%", "%2", "%00", "\n", "\r", "\t", "\x01", "\x7f", "\u00e9", "\u65e5", "\u{1F600}", "\u2028", "\\", '"', "#", "*", "?", "[", "=", "~", "!", "end", "/"];

function randomSpec(rand: () => number): BundleSpec {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const text = (min: number, avoid: string[] = []) => {
    let s = "";
    const n = min + Math.floor(rand() * 12);
    while (s.length < n) {
      const c = pick(ALPHABET);
      if (!avoid.some((a) => c.includes(a))) s += c;
    }
    return s;
  };
  const path = () => `/${text(1)}`;
  const hex = () => createHash("sha256").update(String(rand())).digest("hex");
  const many = <T>(make: () => T, max: number) => Array.from({ length: Math.floor(rand() * (max + 1)) }, make);
  const mode = (): ControlMode => pick(["off", "audit", "enforce"] as const);
  const controls: BundleSpec["controls"] = { drift: mode(), fileless: mode(), loader: mode(), blocklist: mode(), allowlist: mode() };
  for (const c of RUNTIME_CONTROL_NAMES) if (rand() < 0.6) controls[c] = mode();
  const enforceAfter: BundleSpec["enforceAfter"] = {};
  for (const c of [...CONTROL_NAMES, ...RUNTIME_CONTROL_NAMES]) if (controls[c] === "audit" && rand() < 0.5) enforceAfter[c] = 1 + Math.floor(rand() * 4e9);
  const CIDRS = ["0.0.0.0/0", "10.0.0.0/8", "127.0.0.2/32", "::/0", "::1/128", "fd00::/8", "::ffff:10.0.0.0/104", "2001:db8::/32"];
  const PORTS = ["*", "1", "3333", "14444-14446", "65535", "80-443"];
  const network = rand() < 0.5
    ? {
        connect: many(() => {
          const protocol = pick([undefined, undefined, "tcp", "udp"] as const);
          return { action: pick(["allow", "audit", "block"] as const), cidr: pick(CIDRS), ports: pick(PORTS), ...(protocol ? { protocol } : {}) };
        }, 5),
        default: pick(["allow", "audit", "block"] as const),
        listenDefault: pick(["allow", "audit", "block"] as const),
        listen: many(() => (rand() < 0.5 ? pick(PORTS) : { ports: pick(PORTS), protocol: pick(["tcp", "udp"] as const) }), 3),
      }
    : undefined;
  const files = rand() < 0.5 ? { readOnly: many(path, 3), audited: many(path, 2) } : undefined;
  const shellNames = many(() => text(1, ["/"]), 3);
  if (controls["reverse-shell"] !== undefined && controls["reverse-shell"] !== "off" && shellNames.length === 0) shellNames.push("sh");
  const list = (): ExecutableList => ({ names: many(() => text(1, ["/"]), 3), pathGlobs: many(path, 3), sha256: many(hex, 2) });
  const blockList = list();
  const withRepeat = (l: ExecutableList): ExecutableList =>
    rand() < 0.5 && blockList.names.length > 0 ? { ...l, names: [...l.names, blockList.names[0]!] } : l;
  // Unique paths (the writer refuses one path with two hashes); the same content may appear twice.
  const manifest = [...new Map(many(() => ({ sha256: hex(), path: path() }), 6).map((e) => [e.path, e])).values()];
  const copy = `${path()}/copy`;
  if (rand() < 0.3 && manifest.length && !manifest.some((e) => e.path === copy)) manifest.push({ ...manifest[0]!, path: copy });
  const driftSource = pick(["manifest", "ctime"] as const);
  if (controls.drift !== "off" && driftSource === "manifest" && manifest.length === 0) manifest.push({ sha256: hex(), path: "/bin/sh" });
  const consoleLink = (): BundleSpec["console"] => {
    const url = pick(["https://console.example", "https://c.example:8443/base", "http://127.0.0.1:8080", "http://10.1.2.3"]);
    return {
      url,
      ...(url.startsWith("https") || rand() < 0.5 ? { ca: rand() < 0.5 ? `-----BEGIN CERTIFICATE-----\n${text(1)}\n-----END CERTIFICATE-----\n` : path() } : {}),
      ...(rand() < 0.5 ? { enrolToken: `inlay_enr_${hex().slice(0, 20)}` } : {}),
      ...(url.startsWith("http://10.") || rand() < 0.3 ? { plainHttp: true } : {}),
      ...(rand() < 0.5 ? { waitForPolicy: { seconds: 1 + Math.floor(rand() * 3600), failMode: pick(["open", "closed"] as const) } } : {}),
    };
  };
  return {
    ...(rand() < 0.3 ? { console: consoleLink() } : {}),
    failMode: pick(["closed", "open"] as const),
    activation: pick(["always", "serverless"] as const),
    dormancy: { env: many(() => `${text(1, ["="])}${rand() < 0.5 ? `=${text(0)}` : ""}`, 3), paths: many(path, 2) },
    controls,
    enforceAfter,
    driftSource,
    ...(driftSource === "manifest" && rand() < 0.3 ? { driftPathStrict: true } : {}),
    reportExecs: rand() < 0.5,
    blockList,
    allowList: list(),
    manifest,
    ...(network ? { network } : {}),
    ...(files ? { files } : {}),
    ...(shellNames.length || rand() < 0.5 ? { shellNames } : {}),
    // Drawn last, so the fields above keep their random values. Half the time an entry of the
    // block list is repeated here (written once, without the token).
    ...(rand() < 0.5 ? { blockListAudit: withRepeat(list()) } : {}),
  };
}

test("the C parser reads back exactly what the writer wrote", async () => {
  assert.ok(existsSync(dumpTool), `${dumpTool} is missing: run make -C enforcer first`);
  const tmp = await makeTempDir();
  try {
    const specs: { name: string; spec: BundleSpec }[] = readdirSync(join(root, "test/vectors/bundle/valid"))
      .filter((n) => n.endsWith(".json"))
      .map((n) => ({ name: n, spec: JSON.parse(readFileSync(join(root, "test/vectors/bundle/valid", n), "utf8")) as BundleSpec }));
    const seed = Number(process.env.INLAY_TEST_SEED ?? 20261128);
    const rand = prng(seed);
    for (let i = 0; i < 150; i++) specs.push({ name: `random #${i} (seed ${seed})`, spec: randomSpec(rand) });

    for (const { name, spec } of specs) {
      const bytes = writeBundle(spec);
      const file = join(tmp.path, "b");
      writeFileSync(file, bytes);
      assert.deepEqual(parseWithC(file), expected(spec, bundleId(bytes)), name);
    }
  } finally {
    await tmp.dispose();
  }
});
