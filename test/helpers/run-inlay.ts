/**
 * Runs a command, or the built `inlay` CLI, to completion and collects what it printed. A run
 * that exits non-zero resolves (tests assert on the code); only a failure to start rejects.
 * @module
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/** The compiled CLI entry point (dist/src/cli/main.js). */
export const INLAY_CLI = new URL("../../src/cli/main.js", import.meta.url).pathname;

/** What a finished command printed, and its exit code (-1 when killed by a signal). */
export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` with stdin closed and `env` (default: this process's). */
export function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs `inlay args` with the current Node. */
export function runInlay(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CommandRun> {
  return runCommand(process.execPath, [INLAY_CLI, ...args], env);
}

/** Runs `inlay args` with its standard output on /dev/full, where every write fails with ENOSPC. */
export function runInlayToFullDisk(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const devFull = openSync("/dev/full", "w");
    const child = spawn(process.execPath, [INLAY_CLI, ...args], { stdio: ["ignore", devFull, "pipe"] });
    closeSync(devFull);
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stderr }));
  });
}
