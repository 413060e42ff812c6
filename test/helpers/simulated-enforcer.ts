/**
 * A simulated enforcer speaking protocol v1 (docs/console-protocol.md) the way the C reporter
 * must: register with an enrolment token, keep events in a bounded queue, send them as gzip'd
 * NDJSON batches, and drop a batch from the queue only after the console acknowledged it; any
 * failure (refused connection, reset, 5xx) leaves it queued for the next attempt.
 * @module
 */
import { randomBytes } from "node:crypto";
import type { Agent } from "node:http";
import { gzipSync } from "node:zlib";
import { httpCall, jsonCall } from "./http-call.js";
import type { InlayEvent } from "../../src/events/event-schema.js";

export interface SimulatedEnforcerOptions {
  baseUrl: string;
  enrolmentToken: string;
  ca?: string;
  agent?: Agent;
  platform?: Record<string, string>;
  tier?: "full" | "degraded" | "dormant";
}

export class SimulatedEnforcer {
  readonly instance = randomBytes(16).toString("hex");
  readonly #opts: SimulatedEnforcerOptions;
  #seq = 0;
  credential: string | null = null;
  enforcerId: string | null = null;
  /** Events not yet acknowledged, oldest first. */
  readonly pending: { id: string; line: string }[] = [];
  /** Ids the console acknowledged. */
  readonly acknowledged = new Set<string>();
  policyEtag: string | null = null;

  constructor(options: SimulatedEnforcerOptions) {
    this.#opts = options;
  }

  get baseUrl(): string {
    return this.#opts.baseUrl;
  }
  set baseUrl(url: string) {
    this.#opts.baseUrl = url;
  }

  /** The body of a register call for this instance. */
  registration(): Record<string, unknown> {
    return {
      protocol: 1,
      instance: this.instance,
      enforcer_version: "0.1.0",
      mode: "enforce",
      tier: this.#opts.tier ?? "full",
      bundle: "none",
      policy_in_force: "baked",
      image: { name: "registry.example/app:1", digest: `sha256:${"ab".repeat(32)}` },
      platform: { cloud: "aws", account: "123456789012", region: "eu-west-1", cluster: "prod", service: "api", task: `task-${this.instance.slice(0, 8)}`, container: "app", ...this.#opts.platform },
    };
  }

  async register(): Promise<void> {
    const r = await jsonCall(`${this.#opts.baseUrl}/api/enforcer/v1/register`, this.#opts.enrolmentToken, "POST", this.registration(), { ca: this.#opts.ca, agent: this.#opts.agent });
    if (r.status !== 201) throw new Error(`Cannot register instance ${this.instance}: HTTP ${r.status} ${r.body.toString()}`);
    const j = r.json();
    this.credential = j.credential;
    this.enforcerId = j.enforcer_id;
  }

  async heartbeat(): Promise<{ status: number; etag?: string }> {
    const r = await jsonCall(`${this.#opts.baseUrl}/api/enforcer/v1/heartbeat`, this.credential, "POST", { mode: "enforce", tier: this.#opts.tier ?? "full", policy_in_force: "baked", dropped_total: 0, buffered: this.pending.length }, { ca: this.#opts.ca, agent: this.#opts.agent });
    return { status: r.status, etag: r.status === 200 ? r.json().policy_etag : undefined };
  }

  /** Makes one event of this instance (a drift deny) and queues it. */
  record(kind = "exec.drift"): InlayEvent {
    const seq = ++this.#seq;
    const ev: InlayEvent = {
      schema: 1,
      id: `${this.instance}-${seq}`,
      time: new Date().toISOString(),
      kind,
      severity: "high",
      action: "deny",
      mode: "enforce",
      rule: "drift.manifest",
      reason: "executed file is not in the image manifest",
      process: { pid: 40 + (seq % 100), ppid: 1, uid: 0, exe: `/tmp/x${seq}`, argv: [`/tmp/x${seq}`], argv_truncated: false, cwd: "/" },
      enforcer: { version: "0.1.0", pid: 1, instance: this.instance },
      bundle: "none",
    };
    this.pending.push({ id: ev.id, line: JSON.stringify(ev) });
    return ev;
  }

  /**
   * Sends up to `max` pending events as one batch.
   * @returns the HTTP status, or 0 when the connection failed; acknowledged events leave the queue
   */
  async flush(max = 1000): Promise<number> {
    const batch = this.pending.slice(0, max);
    if (batch.length === 0) return 200;
    const body = gzipSync(batch.map((e) => e.line).join("\n") + "\n");
    let status = 0;
    try {
      const r = await httpCall(`${this.#opts.baseUrl}/api/enforcer/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.credential}`, "content-type": "application/x-ndjson", "content-encoding": "gzip" },
        body,
        ca: this.#opts.ca,
        agent: this.#opts.agent,
        timeoutMs: 10_000,
      });
      status = r.status;
      if (status === 200) {
        const ack = r.json() as { last_id: string };
        if (ack.last_id !== batch.at(-1)!.id) throw new Error(`Cannot trust the acknowledgement: last_id ${ack.last_id}, sent ${batch.at(-1)!.id}`);
        for (const e of batch) this.acknowledged.add(e.id);
        this.pending.splice(0, batch.length);
      }
    } catch (err) {
      if ((err as Error).message.startsWith("Cannot trust")) throw err;
      status = 0;
    }
    return status;
  }
}
