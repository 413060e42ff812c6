import { createServer } from "node:net";

/**
 * A loopback TCP port that was free a moment ago. Callers that hand it to another process must
 * tolerate the small window in which something else could take it (retry on EADDRINUSE).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") return reject(new Error("Cannot read the listening port"));
      srv.close(() => resolve(addr.port));
    });
  });
}
