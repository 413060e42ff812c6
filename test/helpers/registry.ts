/**
 * Debian's `docker-registry` (distribution 2.8) on a random loopback port, with optional htpasswd
 * Basic auth or Bearer token auth, storage in a temp dir; `dispose()` stops it and removes it.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free-port.js";
import { makeTempDir } from "./temp-dir.js";

export interface Registry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly url: string;
  /** The registry's process id (benchmarks read its CPU time). */
  readonly pid: number;
  readonly logs: () => string;
  dispose(): Promise<void>;
}

export interface RegistryOptions {
  /** Extra `auth:` section, YAML lines already indented by two spaces (htpasswd or token). */
  authYaml?: string;
}

/** Starts a registry and waits until `GET /v2/` answers (200 or 401). */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const tmp = await makeTempDir("inlay-registry-");
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = [
      "version: 0.1",
      "log: {level: warn}",
      "storage:",
      `  filesystem: {rootdirectory: ${join(tmp.path, "data")}}`,
      "  delete: {enabled: true}",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      ...(opts.authYaml ? ["auth:", opts.authYaml] : []),
      "",
    ].join("\n");
    const configPath = join(tmp.path, "config.yml");
    await writeFile(configPath, config);
    let log = "";
    const child: ChildProcess = spawn("/usr/bin/docker-registry", ["serve", configPath], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (log += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (log += d));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    let up = false;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const res = await fetch(`${url}/v2/`);
        if (res.status === 200 || res.status === 401) {
          up = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await sleep(50);
    }
    if (up) {
      return {
        host: `127.0.0.1:${port}`,
        url,
        pid: child.pid!,
        logs: () => log,
        async dispose() {
          if (child.exitCode === null) {
            child.kill("SIGTERM");
            await Promise.race([exited, sleep(5000)]);
            if (child.exitCode === null) child.kill("SIGKILL");
          }
          await tmp.dispose();
        },
      };
    }
    child.kill("SIGKILL");
    await exited;
    if (!/address already in use/i.test(log)) {
      await tmp.dispose();
      throw new Error(`Cannot start docker-registry: ${log.trim() || "it did not answer on /v2/ within 10 s"}`);
    }
  }
  await tmp.dispose();
  throw new Error("Cannot start docker-registry: no free port after 5 attempts");
}
