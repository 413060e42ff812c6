/**
 * Bounded request-body reading. The declared Content-Length is checked first, then the bytes
 * actually received (chunked bodies declare nothing), so no request can make the server buffer
 * more than the route allows; gzip is inflated with a cap on the output (no zip bombs).
 * @module
 */
import { gunzip } from "node:zlib";
import { ApiError } from "./api-error.js";

/** Reads the whole body, refusing more than `maxBytes` with 413. */
export async function readBodyLimited(req: Request, maxBytes: number): Promise<Buffer> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    throw new ApiError("payload_too_large", `Cannot accept the request body: ${declared} bytes is more than the ${maxBytes} allowed here`);
  }
  if (req.body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (err) {
      // The client went away mid-body: its failure, not the console's (no answer reaches it anyway).
      throw new ApiError("bad_request", `Cannot read the request body: the connection broke off after ${total} bytes (${(err as Error).message})`, { cause: err });
    }
    const { done, value } = next;
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ApiError("payload_too_large", `Cannot accept the request body: more than the ${maxBytes} bytes allowed here`);
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks, total);
}

/** Inflates a gzip body, refusing output beyond `maxBytes` (413) and corrupt data (400). */
export function gunzipLimited(data: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(data, { maxOutputLength: maxBytes }, (err, out) => {
      if (err === null) return resolve(out);
      if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        reject(new ApiError("payload_too_large", `Cannot accept the batch: it inflates to more than ${maxBytes} bytes; send smaller batches`, { cause: err }));
      } else {
        reject(new ApiError("bad_request", `Cannot inflate the request body: it is not valid gzip (${err.message})`, { cause: err }));
      }
    });
  });
}
