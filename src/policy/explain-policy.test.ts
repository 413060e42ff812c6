import { test } from "node:test";
import assert from "node:assert/strict";
import { explainPolicy } from "./explain-policy.js";
import { parsePolicy } from "./load-policy.js";
import { defaultPolicy } from "./default-policy.js";

const BUILD = new Date("2026-11-28T12:00:00Z");

function explain(spec: string): string {
  const { policy } = parsePolicy(`apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata: {name: web}\nspec:\n${spec}\n`, { file: "t.yaml" });
  return explainPolicy(policy, { buildTime: BUILD });
}

/** The bullet lines under one heading. */
function section(text: string, heading: string): string[] {
  const lines = text.split("\n");
  const start = lines.indexOf(heading);
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith("  - ")) break;
    out.push(l.slice(4));
  }
  return out;
}

test("the default policy: drift, fileless, loader, miners, stratum ports and reverse shells blocked; the rest audited", () => {
  const text = explainPolicy(defaultPolicy().policy, { buildTime: BUILD });
  const blocked = section(text, "Blocked (denied, and reported):");
  assert.equal(blocked.length, 6, blocked.join("\n"));
  assert.match(blocked[0]!, /^running an executable whose content was not in the image at build time \(drift, by content; a copy of an image executable under a new path still runs\)$/);
  assert.match(blocked[1]!, /fileless/);
  assert.match(blocked[2]!, /dynamic loader/);
  assert.match(blocked[3]!, /^running known crypto-miners \(25 names: .*; shipped list revision 1\)$/);
  assert.match(blocked[4]!, /^connecting to mining-pool \(stratum\) ports 3333, /);
  assert.match(blocked[5]!, /^reverse shells: /);
  const audited = section(text, "Audited (reported, but allowed):");
  for (const what of [/^running package managers \(\d+ names: apk, apt, apt-get, /, /^outbound connections /, /^listening on ports/, /^file operations on audited paths \/etc\/passwd/, /^running setuid\/setgid executables/])
    assert.ok(audited.some((l) => what.test(l)), audited.join("\n"));
  // every block-list source is in force in its own mode: nothing is left out
  assert.deepEqual(section(text, "Asked for, but NOT enforced by this enforcer version yet:"), []);
  assert.match(text, /fail mode closed: the workload does not start when protection is unavailable/);
  assert.match(text, /dormant when env INLAY_HOST_ENFORCER or \/run\/inlay-host\.sock exists/);
});

test("audit-first controls say when they start blocking", () => {
  const text = explain(`  executables:
    drift: {mode: {enforce: {afterDaysFromBuild: 10}}}
    loader: {mode: audit}
    fileless: {mode: "off"}`);
  assert.deepEqual(section(text, "Audited first, blocked later:"), [
    "running an executable whose content was not in the image at build time (drift, by content; a copy of an image executable under a new path still runs): reported until 2026-12-08T12:00:00.000Z, blocked from then on",
  ]);
  assert.ok(section(text, "Audited (reported, but allowed):").includes("running a program through the dynamic loader directly, e.g. ld-linux.so /tmp/x (loader)"));
  assert.ok(section(text, "Off (neither blocked nor reported):").includes("running a program from memory (memfd) or from a deleted file (fileless)"));
});

test("lists are named; an explicit network part the bundle cannot carry is listed as not enforced", () => {
  const text = explain(`  executables:
    allow: {mode: enforce, names: [node], paths: ["/app/*"]}
    block: {mode: enforce, names: [nc, socat], sha256: ["${"a".repeat(64)}"]}
  network:
    outbound: {mode: {enforce: {after: "2027-01-01T00:00:00Z"}}, default: block, allow: [{cidr: 10.0.0.0/8, ports: [5432]}]}
  packageManagers: {mode: enforce, except: [npm]}`);
  const blocked = section(text, "Blocked (denied, and reported):");
  assert.ok(blocked.includes("running anything not on the allow list (names node; paths /app/*)"), blocked.join("\n"));
  assert.ok(blocked.includes("running executables on the block list (names nc, socat; 1 sha256 hash)"));
  assert.ok(blocked.some((l) => /^running package managers \(31 names: .*; except npm\)$/.test(l)));
  assert.ok(
    section(text, "Asked for, but NOT enforced by this enforcer version yet:").includes(
      "outbound connections (allowed to 10.0.0.0/8 port 5432; anything else: block): asked audit until 2027-01-01T00:00:00Z, then enforce",
    ),
  );
});

test("path-strict drift and protocol-limited rules are explained as enforced", () => {
  const text = explain(`  executables:
    drift: {mode: enforce, pathStrict: true}
  network:
    outbound: {mode: enforce, block: [{cidr: 0.0.0.0/0, ports: [53], protocol: udp}]}
    listen: {mode: enforce, default: block, allowPorts: [8080, {ports: [53], protocol: udp}]}`);
  const blocked = section(text, "Blocked (denied, and reported):");
  assert.ok(blocked.includes("running an executable whose content was not in the image at build time, or image content from a path where the image does not have it, e.g. a copy of /bin/sh in /tmp (drift, by content and path)"), blocked.join("\n"));
  assert.ok(blocked.some((l) => l.startsWith("outbound connections (blocked to 0.0.0.0/0 port 53 (UDP only);")), blocked.join("\n"));
  assert.ok(blocked.includes("listening on ports other than 8080, 53 (UDP only) (otherwise: block)"), blocked.join("\n"));
  assert.deepEqual(section(text, "Asked for, but NOT enforced by this enforcer version yet:").filter((l) => /drift|outbound|listen/.test(l)), []);
});
