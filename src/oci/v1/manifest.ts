import { z } from "zod";
import { descriptorSchema, type Descriptor } from "./descriptor.js";
import { isImageManifestMediaType, isIndexMediaType } from "./media-types.js";

/** An image manifest (OCI or Docker schema2). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

/** An image index (OCI index or Docker manifest list). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const indexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** Parses JSON bytes; invalid JSON is a SyntaxError naming `where`. */
export function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new SyntaxError(`Cannot parse ${where}: not JSON (${(err as Error).message})`, { cause: err });
  }
}

function issues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

/**
 * Parses manifest bytes; `where` names the source in errors (e.g. `registry 127.0.0.1:5000 repo@digest`).
 * @throws SyntaxError naming the field that is wrong
 */
export function parseImageManifest(bytes: Uint8Array, where: string): ImageManifest {
  const doc = parseJson(bytes, where);
  const r = manifestSchema.safeParse(doc);
  if (!r.success) throw new SyntaxError(`Cannot parse image manifest ${where}: ${issues(r.error)}`);
  // Return the document as parsed, not zod's copy: zod reorders keys, and a rewrite must keep them.
  return doc as ImageManifest;
}

/** Parses index bytes. @throws SyntaxError naming the field that is wrong */
export function parseImageIndex(bytes: Uint8Array, where: string): ImageIndex {
  const doc = parseJson(bytes, where);
  const r = indexSchema.safeParse(doc);
  if (!r.success) throw new SyntaxError(`Cannot parse image index ${where}: ${issues(r.error)}`);
  return doc as ImageIndex;
}

/**
 * The media type of manifest bytes: the transport's Content-Type when it names a manifest type,
 * else the document's own `mediaType`, else a guess from its shape (`manifests` → OCI index).
 */
export function sniffManifestMediaType(bytes: Uint8Array, contentType?: string): string | undefined {
  const ct = contentType?.split(";")[0]?.trim();
  if (ct && (isIndexMediaType(ct) || isImageManifestMediaType(ct))) return ct;
  try {
    const doc = JSON.parse(Buffer.from(bytes).toString("utf8")) as { mediaType?: unknown; manifests?: unknown; config?: unknown };
    if (typeof doc.mediaType === "string") return doc.mediaType;
    if (Array.isArray(doc.manifests)) return "application/vnd.oci.image.index.v1+json";
    if (doc.config !== undefined) return "application/vnd.oci.image.manifest.v1+json";
  } catch {
    return ct;
  }
  return ct;
}
