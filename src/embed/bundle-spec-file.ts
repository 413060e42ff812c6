/**
 * Reads a BundleSpec given as JSON (`--bundle-spec FILE` or inline `{…}`); `manifest` is filled in
 * per platform by the embedder, so any value given here is ignored.
 * @module
 */
import { readFile } from "node:fs/promises";
import type { BundleSpec } from "../bundle/bundle-spec.js";
import { bundleSpecSchema } from "../bundle/write-bundle.js";

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
  // The manifest is filled per platform by embed, so any given one is ignored; a placeholder entry
  // lets the writer's schema check everything else now (it refuses manifest drift with no entries).
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new SyntaxError(`Cannot parse bundle spec ${where}: expected a JSON object`);
  const placeholder = { sha256: "0".repeat(64), path: "/.inlay/inlay-enforcer" };
  const r = bundleSpecSchema.safeParse({ ...(doc as Record<string, unknown>), manifest: [placeholder] });
  if (!r.success) throw new SyntaxError(`Cannot parse bundle spec ${where}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return { ...(r.data as BundleSpec), manifest: [] };
}
