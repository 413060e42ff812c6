import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BundleSpec } from "./bundle-spec.js";
import { defaultBundleSpec } from "./default-bundle-spec.js";
import { bundleId, percentEncode, writeBundle } from "./write-bundle.js";

// Tests run from dist/src/bundle/; the vectors stay in the source tree.
const vectors = fileURLToPath(new URL("../../../test/vectors/bundle/", import.meta.url));
const hex = (s: string) => createHash("sha256").update(s).digest("hex");

function withManifest(patch: Partial<BundleSpec> = {}): BundleSpec {
  return { ...defaultBundleSpec(), manifest: [{ sha256: hex("sh"), path: "/bin/sh" }], ...patch };
}

/** Asserts writeBundle rejects the spec with a message naming `field`. */
function rejects(spec: unknown, field: string, words: RegExp) {
  assert.throws(
    () => writeBundle(spec as BundleSpec),
    (err: Error) => {
      assert.match(err.message, /^Cannot write bundle: /);
      assert.ok(err.message.includes(field), `"${err.message}" should name ${field}`);
      assert.match(err.message, words);
      return true;
    },
  );
}

test("every valid vector is written byte for byte from its spec", () => {
  const names = readdirSync(`${vectors}/valid`).filter((n) => n.endsWith(".json"));
  assert.ok(names.length >= 5, `found ${names.length} vectors`);
  for (const name of names) {
    const spec = JSON.parse(readFileSync(`${vectors}/valid/${name}`, "utf8")) as BundleSpec;
    const want = readFileSync(`${vectors}/valid/${name.replace(/\.json$/, ".bundle")}`);
    const got = writeBundle(spec);
    assert.equal(got.toString("utf8"), want.toString("utf8"), name);
    assert.ok(got.equals(want), name);
    assert.equal(bundleId(got), `sha256:${createHash("sha256").update(want).digest("hex")}`);
  }
  // And every .bundle there has its spec: the C parser's valid set is exactly what the writer makes.
  const bundles = readdirSync(`${vectors}/valid`).filter((n) => n.endsWith(".bundle"));
  assert.equal(bundles.length, names.length);
});

test("output is deterministic: list and manifest order do not change the bytes", () => {
  const a = withManifest({
    blockList: { names: ["nc", "b", "nc"], pathGlobs: ["/z/*", "/a/*"], sha256: [hex("2"), hex("1")] },
    manifest: [
      { sha256: hex("b"), path: "/usr/bin/b" },
      { sha256: hex("a"), path: "/usr/bin/a" },
      { sha256: hex("b"), path: "/usr/bin/b" },
    ],
  });
  const b = withManifest({
    blockList: { names: ["b", "nc"], pathGlobs: ["/a/*", "/z/*"], sha256: [hex("1"), hex("2")] },
    manifest: [
      { sha256: hex("a"), path: "/usr/bin/a" },
      { sha256: hex("b"), path: "/usr/bin/b" },
    ],
  });
  assert.ok(writeBundle(a).equals(writeBundle(b)));
  const text = writeBundle(a).toString();
  assert.match(text, /block-name b\nblock-name nc\nblock-path \/a\/\*\nblock-path \/z\/\*\n/);
  assert.match(text, /exe [0-9a-f]{64} \/usr\/bin\/a\nexe [0-9a-f]{64} \/usr\/bin\/b\nend\n$/);
});

test("manifest lines come out in UTF-8 byte order whether the manifest is given in that order or not", () => {
  // UTF-8 order; JavaScript's string order would put the emoji (a surrogate pair) before U+FFFD.
  const ordered = ["/a/my app", "/a/z", "/a/\uFFFD", "/a/\u{1F600}"].map((path) => ({ sha256: hex(path), path }));
  const given = writeBundle(withManifest({ manifest: ordered }));
  const shuffled = writeBundle(withManifest({ manifest: [ordered[3]!, ordered[1]!, ordered[0]!, ordered[2]!, ordered[1]!] }));
  assert.ok(given.equals(shuffled));
  const exes = given
    .toString()
    .split("\n")
    .filter((l) => l.startsWith("exe "));
  assert.deepEqual(exes, [`exe ${hex("/a/my app")} /a/my%20app`, `exe ${hex("/a/z")} /a/z`, `exe ${hex("/a/\uFFFD")} /a/%EF%BF%BD`, `exe ${hex("/a/\u{1F600}")} /a/%F0%9F%98%80`]);
});

test("percent-encoding covers exactly bytes outside 0x21..0x7e and %", () => {
  assert.equal(percentEncode("/usr/bin/my app"), "/usr/bin/my%20app");
  assert.equal(percentEncode("100%"), "100%25");
  assert.equal(percentEncode("caf\u00e9"), "caf%C3%A9");
  assert.equal(percentEncode("a\nb\tc\u007f"), "a%0Ab%09c%7F");
  assert.equal(percentEncode("!~\"#*?[]"), "!~\"#*?[]");
  assert.equal(percentEncode("\u{1F600}"), "%F0%9F%98%80");
});

test("the default spec is fail closed with drift, fileless, loader and blocklist enforced", () => {
  const d = defaultBundleSpec();
  assert.equal(d.failMode, "closed");
  assert.equal(d.activation, "always");
  assert.deepEqual(d.controls, { drift: "enforce", fileless: "enforce", loader: "enforce", blocklist: "enforce", allowlist: "off" });
  assert.equal(d.driftSource, "manifest");
  // Fresh objects: mutating one must not leak into the next.
  d.blockList.names.push("nc");
  assert.deepEqual(defaultBundleSpec().blockList.names, []);
  // Without a manifest the default is refused: drift would block everything.
  rejects(defaultBundleSpec(), "manifest", /is empty but controls\.drift is "enforce"/);
});

test("bad specs are rejected with the field named", () => {
  rejects({ ...withManifest(), failMode: "half" }, "failMode", /closed|open/);
  rejects({ ...withManifest(), controls: { ...withManifest().controls, loader: "block" } }, "controls.loader", /off|audit|enforce/);
  rejects({ ...withManifest(), manifest: [{ sha256: hex("x").toUpperCase(), path: "/bin/x" }] }, "manifest[0].sha256", /64 lower-case hex/);
  rejects({ ...withManifest(), manifest: [{ sha256: hex("x"), path: "bin/x" }] }, "manifest[0].path", /absolute/);
  rejects(
    {
      ...withManifest(),
      manifest: [
        { sha256: hex("x"), path: "/bin/x" },
        { sha256: hex("y"), path: "/bin/x" },
      ],
    },
    "manifest[1].path",
    /different sha256 \(first at manifest\[0\]\)/,
  );
  rejects({ ...withManifest(), blockList: { names: ["/bin/nc"], pathGlobs: [], sha256: [] } }, "blockList.names[0]", /basename/);
  rejects({ ...withManifest(), allowList: { names: [], pathGlobs: ["tmp/*"], sha256: [] } }, "allowList.pathGlobs[0]", /absolute/);
  rejects({ ...withManifest(), blockList: { names: [""], pathGlobs: [], sha256: [] } }, "blockList.names[0]", /empty/);
  rejects({ ...withManifest(), blockList: { names: ["a\0b"], pathGlobs: [], sha256: [] } }, "blockList.names[0]", /NUL/);
  rejects({ ...withManifest(), blockList: { names: ["a\uD800"], pathGlobs: [], sha256: [] } }, "blockList.names[0]", /lone surrogate/);
  rejects({ ...withManifest(), dormancy: { env: ["=x"], paths: [] } }, "dormancy.env[0]", /non-empty NAME/);
  rejects({ ...withManifest(), enforceAfter: { loader: 1800000000 } }, "enforceAfter.loader", /needs controls\.loader = "audit" \(it is "enforce"\)/);
  rejects(
    { ...withManifest(), controls: { ...withManifest().controls, loader: "audit" }, enforceAfter: { loader: 1.5 } },
    "enforceAfter.loader",
    /whole seconds/,
  );
  rejects({ ...withManifest(), extra: true }, "spec", /extra/);
  rejects({ ...withManifest(), blockList: { names: ["x".repeat(9000)], pathGlobs: [], sha256: [] } }, "blockList.names", /limit is 8192/);
  // A path that is fine raw but too long once encoded (each byte of U+00E9 becomes 3 characters).
  rejects({ ...withManifest(), manifest: [{ sha256: hex("x"), path: "/" + "\u00e9".repeat(1400) }] }, "manifest", /limit is 8192/);
  // ctime drift needs no manifest; an explicitly empty one with drift off is fine too.
  assert.doesNotThrow(() => writeBundle({ ...defaultBundleSpec(), driftSource: "ctime" }));
  assert.doesNotThrow(() => writeBundle({ ...defaultBundleSpec(), controls: { ...defaultBundleSpec().controls, drift: "off" } }));
});

test("console links are checked as the enforcer checks them", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  rejects({ ...withManifest(), console: { url: "https://console.example" } }, "console.ca", /pinned CA/);
  rejects({ ...withManifest(), console: { url: "https://10.0.0.1", ca: pem } }, "console.url", /DNS name/);
  rejects({ ...withManifest(), console: { url: "http://console.example" } }, "console.plainHttp", /unencrypted/);
  rejects({ ...withManifest(), console: { url: "ftp://console.example" } }, "console.url", /http\(s\)/);
  rejects({ ...withManifest(), console: { url: "https://c.example/x?y", ca: pem } }, "console.url", /query/);
  rejects({ ...withManifest(), console: { url: "http://localhost", ca: "ca.pem" } }, "console.ca", /absolute path/);
  rejects({ ...withManifest(), console: { url: "http://localhost", enrolToken: "a/b" } }, "console.enrolToken", /A-Za-z0-9_-/);
  rejects({ ...withManifest(), console: { url: "http://localhost", waitForPolicy: { seconds: 3601, failMode: "open" } } }, "console.waitForPolicy.seconds", /3600/);
  const bytes = writeBundle({ ...withManifest(), console: { url: "http://console.internal", plainHttp: true } }).toString("utf8");
  assert.match(bytes, /\nconsole http:\/\/console\.internal\nconsole-plain-http on\nend\n$/);
});

test("path-strict drift and rule protocols are written only when set, so other specs keep their bytes", () => {
  const plain = withManifest({ network: { connect: [{ action: "block", cidr: "0.0.0.0/0", ports: "53" }], default: "allow", listenDefault: "block", listen: ["53"] } });
  const text = writeBundle(plain).toString("utf8");
  assert.doesNotMatch(text, /drift-path-strict/);
  assert.match(text, /^net-connect block 0\.0\.0\.0\/0 53\nnet-listen 53\n/m);
  assert.ok(writeBundle({ ...plain, driftPathStrict: false }).equals(writeBundle(plain)), "false writes nothing");
  const strict = writeBundle({
    ...plain,
    driftPathStrict: true,
    network: { ...plain.network!, connect: [{ action: "block", cidr: "0.0.0.0/0", ports: "53", protocol: "udp" }], listen: [{ ports: "53", protocol: "tcp" }] },
  }).toString("utf8");
  assert.match(strict, /^drift-source manifest\ndrift-path-strict on\nreport-execs off\n/m);
  assert.match(strict, /^net-connect block 0\.0\.0\.0\/0 53 udp\nnet-listen 53 tcp\n/m);
  rejects({ ...plain, driftSource: "ctime", driftPathStrict: true }, "driftPathStrict", /needs driftSource "manifest"/);
  rejects({ ...plain, network: { ...plain.network!, connect: [{ action: "block", cidr: "0.0.0.0/0", ports: "53", protocol: "sctp" }] } }, "network.connect[0].protocol", /tcp" or "udp/);
  rejects({ ...plain, network: { ...plain.network!, listen: [{ ports: "53" }] } }, "network.listen[0]", /./);
});

test("audit block-list entries carry the audit token, sorted among the others; none means the old bytes", () => {
  const plain = withManifest({ blockList: { names: ["xmrig", "nc"], pathGlobs: [], sha256: [] } });
  const empty = { names: [], pathGlobs: [], sha256: [] };
  assert.ok(writeBundle({ ...plain, blockListAudit: empty }).equals(writeBundle(plain)), "an empty audit list writes nothing");
  const audit = { names: ["apt-get", "nc", "zypper"], pathGlobs: ["/usr/bin/pip*"], sha256: [hex("pkg")] };
  const text = writeBundle({ ...plain, blockListAudit: audit }).toString("utf8");
  // nc is in both lists: written once, in the control's mode (the stronger)
  assert.match(
    text,
    new RegExp(`^control blocklist enforce\\n[^]*^block-name apt-get audit\\nblock-name nc\\nblock-name xmrig\\nblock-name zypper audit\\nblock-path /usr/bin/pip\\* audit\\nblock-sha256 ${hex("pkg")} audit\\n`, "m"),
  );
  const shuffled = { names: ["zypper", "nc", "apt-get", "apt-get"], pathGlobs: ["/usr/bin/pip*"], sha256: [hex("pkg")] };
  assert.ok(writeBundle({ ...plain, blockListAudit: shuffled }).equals(Buffer.from(text)), "order and repeats do not change the bytes");
  rejects({ ...plain, blockListAudit: { ...empty, names: ["bin/apt"] } }, "blockListAudit.names[0]", /basename/);
  rejects({ ...plain, blockListAudit: { ...empty, sha256: ["ABC"] } }, "blockListAudit.sha256[0]", /64 lower-case hex/);
});
