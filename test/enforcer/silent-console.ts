/**
 * A loopback "console" that accepts connections and never answers: an enforcer waiting for it
 * (wait-for-policy, a dormant enforcer's registration) waits its whole time. For the tests of
 * stop requests during start-up.
 * @module
 */
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface SilentConsole {
  /** `http://127.0.0.1:PORT`, allowed without `console-plain-http` (loopback). */
  url: string;
  /** Resolves at the first connection: the enforcer registers right before it starts waiting. */
  connected: Promise<void>;
  close(): Promise<void>;
}

export async function startSilentConsole(): Promise<SilentConsole> {
  const sockets: Socket[] = [];
  let first!: () => void;
  const connected = new Promise<void>((resolve) => (first = resolve));
  const server = createServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    first();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connected,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
