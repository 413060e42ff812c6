/**
 * The console as a separate process (`node dist/src/cli/main.js console …`), for tests that
 * kill it: resolves once it prints its listening line.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface ConsoleProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** SIGKILL, no chance to finish anything; resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, a graceful stop (pending writes are flushed); resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function spawnConsole(args: string[], env: Record<string, string> = {}): Promise<ConsoleProcess> {
  const child = spawn(process.execPath, [MAIN, "console", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Cannot start the console: no listening line within 20 s\n${out}`));
    }, 20_000);
    const check = () => {
      const m = /listening on (\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Cannot start the console: exited with ${code}\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
