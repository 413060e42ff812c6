import { test } from "node:test";
import assert from "node:assert/strict";
import type { BundleSpec } from "../bundle/bundle-spec.js";
import { writeBundle } from "../bundle/write-bundle.js";
import { compilePolicy, planPolicy, PolicyCompileError } from "./compile-policy.js";
import { parsePolicy } from "./load-policy.js";
import { shippedMinerList } from "./miner-list.js";
import { PACKAGE_MANAGER_NAMES } from "./package-managers.js";
import { DEFAULT_SHELLS_AND_INTERPRETERS, DEFAULT_STRATUM_PORTS } from "./resolve-policy.js";
import type { Policy } from "./policy-schema.js";

const BUILD = new Date("2026-11-28T12:00:00Z");
const MANIFEST = [
  { sha256: "a".repeat(64), path: "/bin/sh" },
  { sha256: "b".repeat(64), path: "/usr/bin/node" },
];

function policy(specYaml: string): Policy {
  const indented = specYaml
    .split("\n")
    .map((l) => (l === "" ? l : `  ${l}`))
    .join("\n");
  return parsePolicy(`apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata:\n  name: t\nspec:\n${indented}\n`, { file: "t.yaml" }).policy;
}

const EMPTY = policy("{}");

test("the default policy compiles to drift, fileless, loader, miners, stratum ports and reverse shells enforced, the rest audited", () => {
  const spec = compilePolicy(EMPTY, { buildTime: BUILD, manifest: MANIFEST });
  const stratum = (cidr: string) => DEFAULT_STRATUM_PORTS.map((p) => ({ action: "block" as const, cidr, ports: String(p) }));
  const expected: BundleSpec = {
    failMode: "closed",
    activation: "always",
    dormancy: { env: ["INLAY_HOST_ENFORCER"], paths: ["/run/inlay-host.sock"] },
    controls: {
      drift: "enforce", fileless: "enforce", loader: "enforce", blocklist: "enforce", allowlist: "off",
      "reverse-shell": "enforce", network: "enforce", files: "audit", privilege: "audit",
    },
    enforceAfter: {},
    driftSource: "manifest",
    reportExecs: false,
    blockList: { names: shippedMinerList().names, pathGlobs: [], sha256: shippedMinerList().sha256 },
    blockListAudit: { names: [...PACKAGE_MANAGER_NAMES], pathGlobs: [], sha256: [] },
    allowList: { names: [], pathGlobs: [], sha256: [] },
    manifest: MANIFEST,
    network: { connect: [...stratum("0.0.0.0/0"), ...stratum("::/0")], default: "audit", listenDefault: "audit", listen: [] },
    files: { readOnly: [], audited: ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers", "/etc/sudoers.d", "/root/.ssh"] },
    shellNames: DEFAULT_SHELLS_AND_INTERPRETERS,
  };
  assert.deepEqual(spec, expected);
  assert.ok(spec.blockList.names.includes("xmrig"));
});

test("the default policy compiles with no finding: its package managers are audit entries beside the enforced miners", () => {
  const { spec, findings } = planPolicy(EMPTY, { buildTime: BUILD, manifest: MANIFEST });
  assert.deepEqual(findings, []);
  assert.equal(spec.controls.blocklist, "enforce");
  const text = writeBundle(spec).toString("utf8");
  // every package manager is in the bundle, with the audit token; every miner without one
  for (const name of PACKAGE_MANAGER_NAMES) assert.match(text, new RegExp(`^block-name ${name} audit$`, "m"), name);
  for (const name of shippedMinerList().names) assert.match(text, new RegExp(`^block-name ${name}$`, "m"), name);
  assert.equal(text.match(/^block-name .* audit$/gm)?.length, PACKAGE_MANAGER_NAMES.length);
});

test("fail mode, activation, dormancy and report-execs map one to one", () => {
  const spec = compilePolicy(
    policy(`failMode: open
activation: {mode: serverless, dormantWhen: {env: [HOST_AGENT=1], paths: [/var/run/agent.sock]}}
reportExecs: true`),
    { buildTime: BUILD, manifest: MANIFEST },
  );
  assert.equal(spec.failMode, "open");
  assert.equal(spec.activation, "serverless");
  assert.deepEqual(spec.dormancy, { env: ["HOST_AGENT=1"], paths: ["/var/run/agent.sock"] });
  assert.equal(spec.reportExecs, true);
});

test("each executable control compiles its mode; drift off needs no manifest and ships none", () => {
  for (const mode of ["off", "audit", "enforce"] as const) {
    const spec = compilePolicy(
      policy(`executables:
  drift: {mode: "${mode}"}
  fileless: {mode: "${mode}"}
  loader: {mode: "${mode}"}
  block: {mode: "${mode}", names: [nc]}
  allow: {mode: "${mode}", names: [node]}
miners: {mode: "off"}
packageManagers: {mode: "off"}`),
      { buildTime: BUILD, ...(mode === "off" ? {} : { manifest: MANIFEST }) },
    );
    const { drift, fileless, loader, blocklist, allowlist } = spec.controls;
    assert.deepEqual({ drift, fileless, loader, blocklist, allowlist }, { drift: mode, fileless: mode, loader: mode, blocklist: mode, allowlist: mode });
    assert.deepEqual(spec.enforceAfter, {});
    assert.deepEqual(spec.manifest, mode === "off" ? [] : MANIFEST);
  }
});

test("manifest-free drift compiles to the ctime source and ships no manifest", () => {
  const spec = compilePolicy(policy("executables: {drift: {mode: enforce, source: manifest-free}}"), { buildTime: BUILD, manifest: MANIFEST });
  assert.equal(spec.driftSource, "ctime");
  assert.equal(spec.controls.drift, "enforce");
  assert.deepEqual(spec.manifest, []);
});

test("audit-first modes resolve a date or days after the build into enforce-after", () => {
  const spec = compilePolicy(
    policy(`executables:
  drift: {mode: {enforce: {after: "2026-12-31T00:00:00Z"}}}
  fileless: {mode: {enforce: {afterDaysFromBuild: 14}}}
  loader: {mode: {enforce: {after: "2027-01-01T02:00:00+02:00"}}}`),
    { buildTime: BUILD, manifest: MANIFEST },
  );
  assert.equal(spec.controls.drift, "audit");
  assert.equal(spec.controls.fileless, "audit");
  assert.equal(spec.controls.loader, "audit");
  assert.deepEqual(spec.enforceAfter, {
    drift: Date.UTC(2026, 11, 31) / 1000,
    fileless: Date.UTC(2026, 11, 12, 12) / 1000,
    loader: Date.UTC(2027, 0, 1) / 1000,
  });
});

test("block and allow lists carry names, path globs and hashes, without duplicates", () => {
  const spec = compilePolicy(
    policy(`executables:
  block: {mode: enforce, names: [nc, nc, socat], paths: ["/tmp/*"], sha256: ["${"c".repeat(64)}"]}
  allow: {mode: audit, names: [node], paths: ["/app/bin/*"], sha256: ["${"d".repeat(64)}"]}
miners: {mode: enforce, shippedList: false}`),
    { buildTime: BUILD, manifest: MANIFEST },
  );
  assert.deepEqual(spec.blockList, { names: ["nc", "socat"], pathGlobs: ["/tmp/*"], sha256: ["c".repeat(64)] });
  assert.deepEqual(spec.allowList, { names: ["node"], pathGlobs: ["/app/bin/*"], sha256: ["d".repeat(64)] });
  assert.equal(spec.controls.allowlist, "audit");
});

test("an allow list without entries is refused: it would deny or report every exec", () => {
  assert.throws(
    () => compilePolicy(policy("executables: {allow: {mode: enforce}}"), { buildTime: BUILD, manifest: MANIFEST }),
    (err: unknown) =>
      err instanceof PolicyCompileError &&
      err.findings.length === 1 &&
      /spec\.executables\.allow: mode enforce with no names, paths or sha256 would deny every exec/.test(err.message),
  );
});

test("manifest drift without a manifest is refused, even with --allow-unenforced", () => {
  assert.throws(
    () => compilePolicy(EMPTY, { buildTime: BUILD, allowUnenforced: true }),
    /spec\.executables\.drift: drift with source manifest needs the image's executables, and none were given; compile with --manifest-dir/,
  );
});

test("package managers compile into block-list names; except removes some", () => {
  const spec = compilePolicy(policy("packageManagers: {mode: enforce, except: [npm]}"), { buildTime: BUILD, manifest: MANIFEST });
  for (const name of ["apt", "apt-get", "dpkg", "apk", "yum", "dnf", "rpm", "pip", "pip3", "yarn", "pnpm", "gem"]) {
    assert.ok(spec.blockList.names.includes(name), name);
  }
  assert.ok(!spec.blockList.names.includes("npm"));
  assert.equal(spec.controls.blocklist, "enforce");
  assert.equal(spec.blockList.names.length, PACKAGE_MANAGER_NAMES.length - 1 + shippedMinerList().names.length);
});

test("miners compile the shipped list, the policy's own names and hashes, or a replacement list", () => {
  const own = compilePolicy(policy(`miners: {mode: enforce, names: [mymine], sha256: ["${"e".repeat(64)}"]}`), {
    buildTime: BUILD,
    manifest: MANIFEST,
  });
  assert.ok(own.blockList.names.includes("xmrig"));
  assert.ok(own.blockList.names.includes("mymine"));
  assert.deepEqual(own.blockList.sha256, [...shippedMinerList().sha256, "e".repeat(64)]);
  const replaced = compilePolicy(EMPTY, {
    buildTime: BUILD,
    manifest: MANIFEST,
    minerList: { revision: 9, updated: "2027-01-01", names: ["newminer"], sha256: ["f".repeat(64)] },
  });
  assert.deepEqual(replaced.blockList, { names: ["newminer"], pathGlobs: [], sha256: ["f".repeat(64)] });
  // With miners off, the defaulted package managers (audit) are the only block-list entries left.
  const off = compilePolicy(policy("miners: {mode: \"off\"}"), { buildTime: BUILD, manifest: MANIFEST });
  assert.deepEqual(off.blockList.names, [...PACKAGE_MANAGER_NAMES]);
  assert.equal(off.controls.blocklist, "audit");
});

const RUNTIME_OFF = `reverseShell: {mode: "off"}
network: {outbound: {mode: "off"}, listen: {mode: "off"}}
files: {readOnly: {mode: "off"}, audited: {mode: "off"}}
privilege: {mode: "off"}`;

test("network: stratum ports, outbound allow/block rules and listen ports compile to net directives", () => {
  const spec = compilePolicy(
    policy(`miners: {mode: enforce, stratum: {mode: enforce, ports: [3333, "14444-14446"]}}
network:
  outbound: {mode: enforce, default: block, allow: [{cidr: 10.0.0.0/8, ports: [443]}, {cidr: "2001:db8::/32"}], block: [{cidr: 10.9.0.0/16}]}
  listen: {mode: enforce, allowPorts: [8080, "9000-9100"], default: block}`),
    { buildTime: BUILD, manifest: MANIFEST },
  );
  assert.equal(spec.controls.network, "enforce");
  assert.deepEqual(spec.network, {
    connect: [
      { action: "block", cidr: "0.0.0.0/0", ports: "3333" },
      { action: "block", cidr: "0.0.0.0/0", ports: "14444-14446" },
      { action: "block", cidr: "::/0", ports: "3333" },
      { action: "block", cidr: "::/0", ports: "14444-14446" },
      { action: "allow", cidr: "10.0.0.0/8", ports: "443" },
      { action: "allow", cidr: "2001:db8::/32", ports: "*" },
      { action: "block", cidr: "10.9.0.0/16", ports: "*" },
    ],
    default: "block",
    listenDefault: "block",
    listen: ["8080", "9000-9100"],
  });
});

test("network parts in plain audit beside an enforced part become audit rules (alerts, never blocks)", () => {
  const spec = compilePolicy(
    policy("network: {outbound: {mode: audit, default: block, block: [{cidr: 10.9.0.0/16}]}, listen: {mode: audit, default: block}}"),
    { buildTime: BUILD, manifest: MANIFEST },
  );
  assert.equal(spec.controls.network, "enforce"); // stratum ports, default enforce
  assert.ok(spec.network!.connect.some((r) => r.action === "audit" && r.cidr === "10.9.0.0/16"));
  assert.equal(spec.network!.default, "audit");
  assert.equal(spec.network!.listenDefault, "audit");
});

test("a network part that enforces from another date than the network control is refused", () => {
  assert.throws(
    () => compilePolicy(policy("network: {outbound: {mode: {enforce: {after: \"2027-01-01T00:00:00Z\"}}, default: block}}"), { buildTime: BUILD, manifest: MANIFEST }),
    (err: unknown) => err instanceof PolicyCompileError && /spec\.network\.outbound: mode audit until 2027-01-01T00:00:00Z, then enforce cannot be compiled next to spec\.miners\.stratum/.test(err.message),
  );
});

test("a CIDR with host bits is a finding; a protocol-specific rule is not", () => {
  const { findings } = planPolicy(policy("network: {outbound: {mode: enforce, allow: [{cidr: 10.0.0.1/8}], block: [{cidr: 10.9.0.0/16, protocol: udp}]}}"), { buildTime: BUILD, manifest: MANIFEST });
  assert.ok(findings.some((f) => f.kind === "invalid" && f.reason === "bad-cidr" && /host bits/.test(f.message)));
  assert.ok(!findings.some((f) => f.path.join(".").startsWith("spec.network.outbound.block")), JSON.stringify(findings));
});

test("protocol: tcp/udp compile to protocol-limited bundle rules, any to rules for both", () => {
  const spec = compilePolicy(
    policy(`network:
  outbound: {mode: enforce, block: [{cidr: 0.0.0.0/0, ports: [53], protocol: udp}, {cidr: "::/0", ports: [53, 853], protocol: any}], allow: [{cidr: 10.0.0.0/8, ports: ["8000-8100"], protocol: tcp}]}
  listen: {mode: enforce, default: block, allowPorts: [8080, "9000-9001", {ports: [53, 5353], protocol: udp}, {ports: [22], protocol: any}]}`),
    { buildTime: BUILD, manifest: MANIFEST },
  );
  const rules = spec.network!.connect.filter((r) => r.ports === "53" || r.ports === "853" || r.ports === "8000-8100");
  assert.deepEqual(rules, [
    { action: "allow", cidr: "10.0.0.0/8", ports: "8000-8100", protocol: "tcp" },
    { action: "block", cidr: "0.0.0.0/0", ports: "53", protocol: "udp" },
    { action: "block", cidr: "::/0", ports: "53" },
    { action: "block", cidr: "::/0", ports: "853" },
  ]);
  assert.deepEqual(spec.network!.listen, ["8080", "9000-9001", { ports: "53", protocol: "udp" }, { ports: "5353", protocol: "udp" }, "22"]);
  const text = writeBundle(spec).toString("utf8");
  assert.match(text, /^net-connect block 0\.0\.0\.0\/0 53 udp$/m);
  assert.match(text, /^net-connect block ::\/0 53$/m);
  assert.match(text, /^net-listen 5353 udp$/m);
  assert.match(text, /^net-listen 8080$/m);
});

test("a listen entry needs ports and a valid protocol", () => {
  assert.throws(() => policy("network: {listen: {mode: audit, allowPorts: [{ports: [], protocol: udp}]}}"), /at least one port/);
  assert.throws(() => policy("network: {listen: {mode: audit, allowPorts: [{ports: [53], protocol: sctp}]}}"), /spec\.network\.listen\.allowPorts\[0\]\.protocol: is "sctp"; expected tcp, udp or any/);
});

test("pathStrict: true compiles to drift-path-strict; false and manifest-free drift write nothing; manifest-free + pathStrict is refused", () => {
  const strict = compilePolicy(policy("executables: {drift: {mode: enforce, pathStrict: true}}"), { buildTime: BUILD, manifest: MANIFEST });
  assert.equal(strict.driftPathStrict, true);
  assert.match(writeBundle(strict).toString("utf8"), /^drift-source manifest\ndrift-path-strict on\n/m);
  const loose = compilePolicy(policy("executables: {drift: {mode: enforce, pathStrict: false}}"), { buildTime: BUILD, manifest: MANIFEST });
  assert.equal(loose.driftPathStrict, undefined);
  assert.doesNotMatch(writeBundle(loose).toString("utf8"), /drift-path-strict/);
  const off = compilePolicy(policy("executables: {drift: {mode: \"off\", pathStrict: true}}"), { buildTime: BUILD });
  assert.equal(off.driftPathStrict, undefined, "drift off: nothing to make strict");
  assert.throws(
    () => compilePolicy(policy("executables: {drift: {mode: enforce, source: manifest-free, pathStrict: true}}"), { buildTime: BUILD, allowUnenforced: true }),
    (err: unknown) => err instanceof PolicyCompileError && /spec\.executables\.drift\.pathStrict: pathStrict: true compares the executed path/.test(err.message),
  );
});

test("files: read-only and audited paths compile to prefixes; DIR/* covers the directory; other globs are findings", () => {
  const { spec, findings } = planPolicy(
    policy("files: {readOnly: {mode: enforce, paths: [/etc/*, /app/config.yaml, \"/srv/*.conf\"]}, audited: {mode: audit, paths: [/var/lib/app/**]}}"),
    { buildTime: BUILD, manifest: MANIFEST },
  );
  assert.equal(spec.controls.files, "enforce");
  assert.deepEqual(spec.files, { readOnly: ["/etc", "/app/config.yaml"], audited: ["/var/lib/app"] });
  assert.deepEqual(findings.filter((f) => f.path[1] === "files").map((f) => [f.path.join("."), f.kind, f.explicit]), [["spec.files.readOnly.paths.2", "unenforced", true]]);
});

test("reverse shell and privilege compile to their controls", () => {
  const spec = compilePolicy(policy("reverseShell: {mode: audit, interpreters: [sh, python3]}\nprivilege: {mode: audit}"), { buildTime: BUILD, manifest: MANIFEST });
  assert.equal(spec.controls["reverse-shell"], "audit");
  assert.deepEqual(spec.shellNames, ["sh", "python3"]);
  assert.equal(spec.controls.privilege, "audit");
});

test("runtime controls set to off leave nothing of themselves in the bundle", () => {
  const spec = compilePolicy(policy(`miners: {mode: enforce, stratum: {mode: "off"}}\n${RUNTIME_OFF}`), { buildTime: BUILD, manifest: MANIFEST });
  assert.equal(spec.controls.blocklist, "enforce");
  for (const c of ["network", "files", "reverse-shell", "privilege"] as const) assert.equal(spec.controls[c], undefined, c);
  assert.equal(spec.network, undefined);
  assert.equal(spec.files, undefined);
  assert.equal(spec.shellNames, undefined);
});

test("block-list contributors in different modes: the strongest is the control's mode, a plain audit one gets the audit token", () => {
  const p = policy(`executables: {block: {mode: enforce, names: [nc]}}
packageManagers: {mode: audit}`);
  const { spec, findings } = planPolicy(p, { buildTime: BUILD, manifest: MANIFEST });
  assert.deepEqual(findings, []);
  assert.equal(spec.controls.blocklist, "enforce");
  assert.ok(spec.blockList.names.includes("nc") && spec.blockList.names.includes("xmrig"));
  assert.ok(!spec.blockList.names.includes("apt-get"));
  assert.deepEqual(spec.blockListAudit, { names: [...PACKAGE_MANAGER_NAMES], pathGlobs: [], sha256: [] });
  const text = writeBundle(compilePolicy(p, { buildTime: BUILD, manifest: MANIFEST })).toString("utf8");
  assert.match(text, /^block-name apt-get audit\n/m);
  assert.match(text, /^block-name nc\n/m);
  // the same policy with both in enforce: no audit entries at all
  const same = compilePolicy(policy(`executables: {block: {mode: enforce, names: [nc]}}
packageManagers: {mode: enforce}`), { buildTime: BUILD, manifest: MANIFEST });
  assert.equal(same.blockListAudit, undefined);
  assert.ok(same.blockList.names.includes("apt-get"));
});

test("an entry listed by an audit control and an enforced one is compiled once, in the stronger mode", () => {
  const spec = compilePolicy(policy(`executables: {block: {mode: audit, names: [xmrig, tool], sha256: ["${"d".repeat(64)}"]}}`), {
    buildTime: BUILD,
    manifest: MANIFEST,
  });
  assert.ok(spec.blockList.names.includes("xmrig"));
  assert.deepEqual(spec.blockListAudit!.names.filter((n) => n === "xmrig" || n === "tool"), ["tool"]);
  assert.ok(spec.blockListAudit!.sha256.includes("d".repeat(64)));
});

test("an audit-first contributor with a later switch than the block list's is compiled as audit, and says it never switches", () => {
  const p = policy(`executables: {block: {mode: {enforce: {afterDaysFromBuild: 7}}, names: [nc]}}
miners: {mode: {enforce: {afterDaysFromBuild: 30}}}`);
  const { spec, findings } = planPolicy(p, { buildTime: BUILD, manifest: MANIFEST });
  assert.equal(spec.controls.blocklist, "audit");
  assert.equal(spec.enforceAfter.blocklist, BUILD.getTime() / 1000 + 7 * 86400);
  assert.deepEqual(spec.blockList.names, ["nc"]);
  assert.ok(spec.blockListAudit!.names.includes("xmrig"), "the miners are kept as audit entries");
  assert.ok(findings.some((f) => f.path.join(".") === "spec.miners" && f.explicit && /only report and never switch to enforce/.test(f.message)));
  // explicit: refused unless the author accepts audit only
  assert.throws(() => compilePolicy(p, { buildTime: BUILD, manifest: MANIFEST }), /spec\.miners: .*never switch to enforce; give both the same mode, or pass --allow-unenforced/);
  assert.ok(compilePolicy(p, { buildTime: BUILD, manifest: MANIFEST, allowUnenforced: true }).blockListAudit!.names.includes("xmrig"));
  // a plain audit contributor beside an audit-first block list needs nothing: it stays audit after the switch
  const plain = planPolicy(policy(`executables: {block: {mode: {enforce: {afterDaysFromBuild: 7}}, names: [nc]}}
miners: {mode: audit}`), { buildTime: BUILD, manifest: MANIFEST });
  assert.deepEqual(plain.findings, []);
  assert.ok(plain.spec.blockListAudit!.names.includes("xmrig") && plain.spec.blockListAudit!.names.includes("apt-get"));
});

test("block-list contributors in the same mode are merged", () => {
  const spec = compilePolicy(
    policy(`executables: {block: {mode: audit, names: [nc]}}
packageManagers: {mode: audit}
miners: {mode: audit}`),
    { buildTime: BUILD, manifest: MANIFEST },
  );
  assert.equal(spec.controls.blocklist, "audit");
  assert.equal(spec.blockList.names.length, 1 + PACKAGE_MANAGER_NAMES.length + shippedMinerList().names.length);
});

test("the manifest is de-duplicated and kept in the given order", () => {
  const spec = compilePolicy(EMPTY, { buildTime: BUILD, manifest: [MANIFEST[1]!, MANIFEST[0]!, MANIFEST[1]!] });
  assert.deepEqual(spec.manifest, [MANIFEST[1], MANIFEST[0]]);
  // A path listed with two digests keeps both pairs (the bundle writer reports the conflict), once each.
  const other = { path: MANIFEST[0]!.path, sha256: "e".repeat(64) };
  const twice = compilePolicy(EMPTY, { buildTime: BUILD, manifest: [MANIFEST[0]!, other, MANIFEST[1]!, MANIFEST[0]!, other, other] });
  assert.deepEqual(twice.manifest, [MANIFEST[0], other, MANIFEST[1]]);
});

test("a compiled policy becomes the exact bundle bytes the enforcer reads", () => {
  const spec = compilePolicy(
    policy(`failMode: open
activation: {mode: serverless, dormantWhen: {env: ["HOST=1"], paths: ["/run/host agent.sock"]}}
reportExecs: true
executables:
  drift: {mode: {enforce: {after: "2026-12-31T00:00:00Z"}}}
  fileless: {mode: enforce}
  loader: {mode: audit}
  block: {mode: enforce, names: [nc], paths: ["/tmp/*"], sha256: ["${"c".repeat(64)}"]}
  allow: {mode: "off"}
packageManagers: {mode: "off"}
miners: {mode: enforce, shippedList: false, names: [xmrig], stratum: {mode: "off"}}
${RUNTIME_OFF}`),
    { buildTime: BUILD, manifest: MANIFEST },
  );
  assert.equal(
    writeBundle(spec).toString("utf8"),
    [
      "inlay-bundle 1",
      "fail-mode open",
      "activation serverless",
      "dormant-env HOST=1",
      "dormant-path /run/host%20agent.sock",
      "control drift audit",
      "control fileless enforce",
      "control loader audit",
      "control blocklist enforce",
      "control allowlist off",
      "enforce-after drift 1798675200",
      "drift-source manifest",
      "report-execs on",
      "block-name nc",
      "block-name xmrig",
      "block-path /tmp/*",
      `block-sha256 ${"c".repeat(64)}`,
      `exe ${"a".repeat(64)} /bin/sh`,
      `exe ${"b".repeat(64)} /usr/bin/node`,
      "end",
      "",
    ].join("\n"),
  );
});

test("the writer accepts what the compiler produces for the default and every-mode policies", () => {
  for (const p of [EMPTY, policy("packageManagers: {mode: enforce}\nexecutables: {allow: {mode: audit, paths: [\"/usr/bin/\\\\[\"]}}")]) {
    assert.match(writeBundle(compilePolicy(p, { buildTime: BUILD, manifest: MANIFEST })).toString("utf8"), /^inlay-bundle 1\n[\s\S]*\nend\n$/);
  }
});
