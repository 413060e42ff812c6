/**
 * A throw-away PostgreSQL from Debian's package: `initdb` into a temp dir and `pg_ctl start` on a
 * random loopback port, with the unix socket in the temp dir. PostgreSQL refuses to run as root,
 * so both run as the `postgres` user (`runuser`) in a directory chowned to it. `dispose()` stops
 * the server immediately and removes everything.
 * @module
 */
import { execFile } from "node:child_process";
import { chown, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import { makeTempDir } from "./temp-dir.js";

const run = promisify(execFile);

export interface Postgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  /** A fresh, empty database on the same server. */
  createDatabase(name: string): Promise<string>;
  dispose(): Promise<void>;
}

async function binDir(): Promise<string> {
  const versions = (await readdir("/usr/lib/postgresql").catch(() => [] as string[])).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error("Cannot start PostgreSQL: /usr/lib/postgresql is missing (scripts/setup.sh installs the postgresql package)");
  return join("/usr/lib/postgresql", versions[0]!, "bin");
}

async function ids(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run("id", ["-u", user])).stdout.trim());
  const gid = Number((await run("id", ["-g", user])).stdout.trim());
  return { uid, gid };
}

/** Starts a server; `fsync` off (the default) is for tests, benchmarks keep it on. */
export async function startPostgres(options: { fsync?: boolean } = {}): Promise<Postgres> {
  const bin = await binDir();
  const tmp = await makeTempDir("inlay-pg-");
  const asPostgres = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  const exec = (cmd: string, args: string[]) => run(asPostgres[0] ?? cmd, asPostgres.length > 0 ? [...asPostgres.slice(1), cmd, ...args] : args);
  try {
    if (asPostgres.length > 0) {
      const { uid, gid } = await ids("postgres");
      await chown(tmp.path, uid, gid);
    }
    const data = join(tmp.path, "data");
    await exec(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"]);
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const opts = `-p ${port} -k ${tmp.path} -c listen_addresses=127.0.0.1 -c fsync=${options.fsync === true ? "on" : "off"} -c max_connections=200`;
      try {
        await exec(join(bin, "pg_ctl"), ["-D", data, "-l", join(tmp.path, "server.log"), "-w", "-t", "30", "-o", opts, "start"]);
      } catch (err) {
        lastErr = err;
        continue;
      }
      const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
      return {
        url,
        async createDatabase(name: string) {
          if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new RangeError(`Cannot create database ${name}: use lower-case letters, digits and _`);
          await exec(join(bin, "createdb"), ["-h", tmp.path, "-p", String(port), "-U", "postgres", name]);
          return `postgres://postgres@127.0.0.1:${port}/${name}`;
        },
        async dispose() {
          await exec(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
          await tmp.dispose();
        },
      };
    }
    const log = await readFile(join(tmp.path, "server.log"), "utf8").catch(() => "");
    throw new Error(`Cannot start PostgreSQL in ${tmp.path}: ${(lastErr as Error).message}\n${log.slice(-2000)}`, { cause: lastErr });
  } catch (err) {
    await tmp.dispose();
    throw err;
  }
}
