/**
 * Reads a BundleSpec given as JSON (`--bundle-spec FILE` or inline `{…}`); `manifest` is filled in
 * per platform by the embedder, so any value given here is ignored.
 * @module
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { BundleSpec } from "../bundle/bundle-spec.js";

const mode = z.enum(["off", "audit", "enforce"]);
const list = z.strictObject({ names: z.array(z.string()), pathGlobs: z.array(z.string()), sha256: z.array(z.string().regex(/^[0-9a-f]{64}$/)) });
const controls = z.strictObject({ drift: mode, fileless: mode, loader: mode, blocklist: mode, allowlist: mode });

const bundleSpecSchema = z.strictObject({
  failMode: z.enum(["closed", "open"]),
  activation: z.enum(["always", "serverless"]),
  dormancy: z.strictObject({ env: z.array(z.string()), paths: z.array(z.string()) }),
  controls,
  enforceAfter: z.partialRecord(z.enum(["drift", "fileless", "loader", "blocklist", "allowlist"]), z.number().int().nonnegative()),
  driftSource: z.enum(["manifest", "ctime"]),
  reportExecs: z.boolean(),
  blockList: list,
  allowList: list,
  manifest: z.array(z.strictObject({ sha256: z.string(), path: z.string() })).default([]),
});

/**
 * Parses `arg`: inline JSON when it starts with `{`, otherwise a file path.
 * @throws SyntaxError naming the file and the field that is wrong
 */
export async function readBundleSpec(arg: string): Promise<BundleSpec> {
  const inline = arg.trimStart().startsWith("{");
  const where = inline ? "--bundle-spec (inline JSON)" : arg;
  let text = arg;
  if (!inline) {
    try {
      text = await readFile(arg, "utf8");
    } catch (err) {
      throw new SyntaxError(`Cannot read bundle spec ${arg}: ${(err as Error).message}`, { cause: err });
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`Cannot parse bundle spec ${where}: ${(err as Error).message}`, { cause: err });
  }
  const r = bundleSpecSchema.safeParse(doc);
  if (!r.success) throw new SyntaxError(`Cannot parse bundle spec ${where}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return r.data as BundleSpec;
}
