import { z } from "zod";

/** The fields of an image config Inlay reads or writes. Everything else is carried through unchanged. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Labels?: Record<string, string> | null;
    [k: string]: unknown;
  } | null;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
  [k: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
  [k: string]: unknown;
}

const configSchema = z.looseObject({
  architecture: z.string().optional(),
  os: z.string().optional(),
  variant: z.string().optional(),
  config: z
    .looseObject({
      Entrypoint: z.array(z.string()).nullable().optional(),
      Cmd: z.array(z.string()).nullable().optional(),
      Labels: z.record(z.string(), z.string()).nullable().optional(),
    })
    .nullable()
    .optional(),
  rootfs: z.looseObject({
    type: z.literal("layers"),
    diff_ids: z.array(z.string().regex(/^sha256:[a-f0-9]{64}$/, "expected sha256:<64 lower-case hex>")),
  }),
  history: z.array(z.looseObject({ empty_layer: z.boolean().optional() })).optional(),
});

/**
 * Parses an image config; unknown fields stay in the returned object so a re-serialisation keeps them.
 * @throws SyntaxError naming the field that is wrong
 */
export function parseImageConfig(bytes: Uint8Array, where: string): ImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new SyntaxError(`Cannot parse image config ${where}: not JSON`, { cause: err });
  }
  const r = configSchema.safeParse(doc);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new SyntaxError(`Cannot parse image config ${where}: ${msg}`);
  }
  // The document itself, not zod's copy: zod reorders keys, and a rewrite must keep them.
  return doc as ImageConfig;
}
