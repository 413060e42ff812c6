/**
 * The shipped, updatable list of crypto-miner executables (`data/miners.json`), and the loader
 * for a replacement list given on the command line (`--miner-list FILE`).
 * @module
 */
import { z } from "zod";
import { readBounded } from "../files/read-bounded.js";
import shipped from "./data/miners.json" with { type: "json" };

export const minerListSchema = z
  .object({
    revision: z.number().int().positive(),
    updated: z.string().regex(/^\d{4}-\d\d-\d\d$/, "a date YYYY-MM-DD"),
    about: z.string().optional(),
    names: z.array(z.string().min(1).max(255).refine((s) => !s.includes("/") && !s.includes("\0"), "a file name without '/'")),
    sha256: z.array(z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits")),
  })
  .strict();

/** A list of miner executables by file name and content hash. */
export type MinerList = z.infer<typeof minerListSchema>;

/** The list shipped with this version of inlay (validated on first use). */
export function shippedMinerList(): MinerList {
  return minerListSchema.parse(shipped);
}

/**
 * The largest replacement list read: about 200,000 hashes, far more than any list needs; the
 * bundle it ends up in has a limit of its own.
 */
export const MAX_MINER_LIST_BYTES = 16 * 1024 * 1024;

/**
 * Reads a replacement miner list (same format as the shipped one).
 * @throws Error naming the file and the first invalid field
 */
export async function loadMinerList(path: string): Promise<MinerList> {
  let value: unknown;
  try {
    value = JSON.parse((await readBounded(path, MAX_MINER_LIST_BYTES)).toString("utf8"));
  } catch (err) {
    throw new Error(`Cannot read miner list ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const r = minerListSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`Cannot read miner list ${path}: field ${i.path.join(".") || "(root)"}: ${i.message}`, { cause: r.error });
  }
  return r.data;
}
