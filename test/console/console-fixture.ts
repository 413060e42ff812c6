/**
 * A console for end-to-end tests on either backend: SQLite in a temp dir, or a fresh database on
 * a PostgreSQL started by the test. It is bootstrapped, and offers helpers for the usual setup.
 * @module
 */
import { join } from "node:path";
import { startConsole, type RunningConsole } from "../../src/console/server.js";
import type { ConsoleSettings } from "../../src/console/http/route-spec.js";
import { jsonCall } from "../helpers/http-call.js";
import { startPostgres, type Postgres } from "../helpers/postgres.js";
import { makeTempDir } from "../helpers/temp-dir.js";

export type Backend = "sqlite" | "postgres";
export const BACKENDS: Backend[] = ["sqlite", "postgres"];

export const BOOTSTRAP_SECRET = "inlay_boot_test-secret-0123456789";

/** A database location for `backend`; dispose removes it (and stops PostgreSQL). */
export async function makeDatabase(backend: Backend): Promise<{ location: string; dispose(): Promise<void> }> {
  if (backend === "sqlite") {
    const tmp = await makeTempDir("inlay-console-");
    return { location: join(tmp.path, "console.sqlite"), dispose: () => tmp.dispose() };
  }
  const pg: Postgres = await startPostgres();
  return { location: await pg.createDatabase("console"), dispose: () => pg.dispose() };
}

export interface ConsoleFixture {
  running: RunningConsole;
  url: string;
  adminToken: string;
  /** A user with `role` and an API token for it. */
  userToken(role: "admin" | "editor" | "viewer"): Promise<string>;
  /** A group and one enrolment token for it. */
  group(name: string): Promise<{ id: string; tokenId: string; token: string }>;
  dispose(): Promise<void>;
}

let userSeq = 0;

/**
 * Starts a bootstrapped console on a fresh database of `backend`, or on `options.database` (a
 * location the caller made and disposes of, e.g. a second database on a PostgreSQL it shares).
 */
export async function startFixture(backend: Backend, settings: Partial<ConsoleSettings> = {}, options: { database?: string } = {}): Promise<ConsoleFixture> {
  const database = options.database === undefined ? await makeDatabase(backend) : { location: options.database, dispose: async () => undefined };
  const running = await startConsole({
    database: database.location,
    listen: "127.0.0.1:0",
    bootstrapSecret: BOOTSTRAP_SECRET,
    settings: { rateLimit: { ratePerSecond: 10_000, burst: 10_000 }, anonymousRateLimit: { ratePerSecond: 1000, burst: 1000 }, ...settings },
  });
  const url = running.url;
  const boot = await jsonCall(`${url}/api/v1/bootstrap`, null, "POST", { secret: BOOTSTRAP_SECRET, username: "admin", password: "admin-password-1" });
  if (boot.status !== 201) throw new Error(`Cannot bootstrap the test console: ${boot.status} ${boot.body}`);
  const adminToken = boot.json().token as string;
  return {
    running,
    url,
    adminToken,
    async userToken(role) {
      const username = `${role}-${++userSeq}`;
      const u = await jsonCall(`${url}/api/v1/users`, adminToken, "POST", { username, password: "user-password-1", role });
      if (u.status !== 201) throw new Error(`Cannot create user: ${u.status} ${u.body}`);
      const s = await jsonCall(`${url}/api/v1/login`, null, "POST", { username, password: "user-password-1" });
      if (s.status !== 200) throw new Error(`Cannot log in: ${s.status} ${s.body}`);
      return s.json().token as string;
    },
    async group(name) {
      const g = await jsonCall(`${url}/api/v1/groups`, adminToken, "POST", { name });
      if (g.status !== 201) throw new Error(`Cannot create group: ${g.status} ${g.body}`);
      const id = g.json().id as string;
      const t = await jsonCall(`${url}/api/v1/groups/${id}/enrolment-tokens`, adminToken, "POST");
      if (t.status !== 201) throw new Error(`Cannot create enrolment token: ${t.status} ${t.body}`);
      return { id, tokenId: t.json().id, token: t.json().token };
    },
    async dispose() {
      await running.close();
      await database.dispose();
    },
  };
}
