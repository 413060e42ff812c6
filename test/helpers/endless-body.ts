/**
 * For servers in tests that misbehave: a response body that never ends.
 * @module
 */
import type { ServerResponse } from "node:http";

/**
 * Writes `byte` in 64 KiB chunks for as long as the client reads, until it goes away. The caller
 * has written the head. A client under test must stop reading, not buffer it all.
 */
export function sendEndlessBody(res: ServerResponse, byte = 65): void {
  const chunk = Buffer.alloc(64 * 1024, byte);
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once("drain", pump);
  };
  res.on("error", () => undefined);
  pump();
}
