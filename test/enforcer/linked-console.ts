/**
 * A real console (`inlay console` as its own process, TLS with a development certificate) for
 * the enforcer's reporter tests: it can be killed and restarted on the same port and database,
 * and it answers what it stored.
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { makeDevCertificate } from "../../src/console/dev-cert.js";
import { BOOTSTRAP_SECRET } from "../console/console-fixture.js";
import { spawnConsole, type ConsoleProcess } from "../console/console-process.js";
import { freePort } from "../helpers/free-port.js";
import { jsonCall } from "../helpers/http-call.js";
import { makeTempDir } from "../helpers/temp-dir.js";

type TempDir = Awaited<ReturnType<typeof makeTempDir>>;

export interface StoredEvent {
  seq: number;
  workload: string;
  event: { id: string; kind: string; rule: string; action: string; detail?: Record<string, unknown>; enforcer: { instance: string } };
}

export interface Workload {
  id: string;
  instance: string;
  tier: string;
  mode: string;
  image: { name: string; digest: string };
  location: Record<string, string>;
  platform: Record<string, string>;
  dropped_total: number;
  policy_in_force: string;
}

export class LinkedConsole {
  /** The URL an enforcer uses: by DNS name, because the certificate is checked against DNS names. */
  readonly url: string;
  private proc: ConsoleProcess | undefined;
  adminToken = "";
  group = { id: "", tokenId: "", token: "" };

  private constructor(
    private readonly dir: TempDir,
    readonly port: number,
    readonly ca: string,
    private readonly args: string[],
  ) {
    this.url = `https://localhost:${port}`;
  }

  /** Makes a certificate and a database; starts the console unless `started` is false. `args`: more console options. */
  static async create(options: { started?: boolean; args?: string[] } = {}): Promise<LinkedConsole> {
    const dir = await makeTempDir("inlay-linked-console-");
    const { certFile, keyFile } = await makeDevCertificate(dir.path);
    const port = await freePort();
    const args = ["--database", join(dir.path, "console.sqlite"), "--listen", `127.0.0.1:${port}`, "--tls-cert", certFile, "--tls-key", keyFile, ...(options.args ?? [])];
    const c = new LinkedConsole(dir, port, await readFile(certFile, "utf8"), args);
    if (options.started !== false) await c.start();
    return c;
  }

  /** Starts the console process; the first start bootstraps an admin and makes one group. */
  async start(): Promise<void> {
    this.proc = await spawnConsole(this.args, { INLAY_CONSOLE_BOOTSTRAP_TOKEN: BOOTSTRAP_SECRET });
    if (this.adminToken) return;
    const boot = await this.call("/api/v1/bootstrap", "POST", { secret: BOOTSTRAP_SECRET, username: "admin", password: "admin-password-1" }, null);
    this.adminToken = boot.token;
    const g = await this.call("/api/v1/groups", "POST", { name: "reporter" });
    const t = await this.call(`/api/v1/groups/${g.id}/enrolment-tokens`, "POST");
    this.group = { id: g.id, tokenId: t.id, token: t.token };
  }

  /** SIGKILL: nothing is flushed or closed cleanly. */
  async kill(): Promise<void> {
    await this.proc?.kill();
    this.proc = undefined;
  }

  /** A further enrolment token of the group. */
  async newToken(): Promise<{ id: string; token: string }> {
    const t = await this.call(`/api/v1/groups/${this.group.id}/enrolment-tokens`, "POST");
    return { id: t.id, token: t.token };
  }

  /** Stores a version of a policy document; returns its sha256. */
  async addPolicy(name: string, document: string): Promise<{ version: number; sha256: string }> {
    const v = await this.call(`/api/v1/policies/${name}/versions`, "POST", { document });
    return { version: v.version, sha256: v.sha256 };
  }

  /** Assigns a policy (newest version) to the group, overriding the baked one or not. */
  async assignPolicy(policy: string | null, override: boolean): Promise<void> {
    await this.call(`/api/v1/groups/${this.group.id}/policy`, "PUT", { policy, override });
  }

  async revokeToken(id: string): Promise<void> {
    await this.call(`/api/v1/groups/${this.group.id}/enrolment-tokens/${id}`, "DELETE");
  }

  /** Every stored event, oldest first (all pages). */
  async events(): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    let before: number | null = null;
    for (;;) {
      const page: { items: StoredEvent[]; next_before: number | null } = await this.call(`/api/v1/events?limit=1000${before ? `&before=${before}` : ""}`);
      out.push(...page.items);
      if (page.next_before === null || page.items.length === 0) break;
      before = page.next_before;
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  async workloads(): Promise<Workload[]> {
    return (await this.call("/api/v1/workloads?limit=500")).items as Workload[];
  }

  async dispose(): Promise<void> {
    await this.kill();
    await this.dir.dispose();
  }

  private async call(path: string, method = "GET", body?: unknown, token: string | null = this.adminToken): Promise<any> {
    const r = await jsonCall(`https://127.0.0.1:${this.port}${path}`, token, method, body, { ca: this.ca });
    if (r.status >= 300) throw new Error(`Cannot ${method} ${path} on the test console: ${r.status} ${r.body.toString("utf8")}`);
    return r.status === 204 ? undefined : r.json();
  }
}
