/**
 * The console's admin API from the command line: `inlay workloads`, `events`, `enforcers revoke`,
 * `groups list|create|policy` and `policies push`. Exit codes: 0 done; 1 the console refused the
 * call (its message is shown); 2 usage (missing console URL or token); 3 the console answered
 * outside the API contract; 4 a file could not be read or the console could not be reached.
 * @module
 */
import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { z } from "zod";
import { CliError } from "../cli-error.js";
import { ConsoleCallError, ConsoleClient, printable } from "../../console-client/console-client.js";
import { ConsoleTargetError, resolveTarget, type TargetFlags } from "../../console-client/console-target.js";
import { eventPage, groupSchema, policyVersionSchema, workloadPage } from "../../console/http/api-schemas.js";

export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNEXPECTED = 3;
export const EXIT_IO = 4;

const groupList = z.object({ items: z.array(groupSchema) });
const UUID = /^[0-9a-f-]{36}$/;

type Flags = TargetFlags & { json?: boolean };

/** Adds the options every console command shares. */
function withTarget(cmd: Command): Command {
  return cmd
    .option("--console <url>", "console base URL (default: $INLAY_CONSOLE_URL)")
    .option("--token-file <file>", "file holding the API token (default: $INLAY_API_TOKEN)")
    .option("--ca <file>", "PEM CA certificate to trust for the console's https")
    .option("--json", "print the console's JSON answer");
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** Runs `fn` with a client for the target in `flags`, translating errors once. */
async function withClient<T>(flags: Flags, fn: (client: ConsoleClient) => Promise<T>): Promise<T> {
  let client: ConsoleClient;
  try {
    client = new ConsoleClient(await resolveTarget(flags));
  } catch (err) {
    if (err instanceof ConsoleTargetError) throw new CliError(err.message, err.what === "usage" ? EXIT_USAGE : EXIT_IO, { cause: err });
    throw err;
  }
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof ConsoleCallError) {
      const code = err.kind === "refused" ? EXIT_REFUSED : err.kind === "unexpected" ? EXIT_UNEXPECTED : EXIT_IO;
      throw new CliError(err.message, code, { cause: err });
    }
    throw err;
  }
}

/**
 * Prints rows as aligned columns under a header. Cells carry what workloads and the console said
 * (an event's reason names a file the workload chose), so control characters, which a terminal
 * would obey, and line breaks, which would shift the columns, become spaces.
 */
function printTable(header: string[], cells: string[][]): void {
  const rows = cells.map((r) => r.map((c) => printable(c).replace(/\n/g, " ")));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n";
  process.stdout.write(line(header) + rows.map(line).join(""));
}

const printJson = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
const str = (v: unknown) => (typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v));

/** Registers the console API commands on the program. */
export function register(program: Command): void {
  withTarget(program.command("workloads").description("List the workloads the console knows (GET /api/v1/workloads)"))
    .option("--search <text>", "substring of image, digest, cluster, service, task, container or instance")
    .option("--stale", "only workloads that missed their heartbeats")
    .option("--cloud <cloud>", "only this cloud")
    .option("--cluster <cluster>", "only this cluster")
    .option("--tier <tier>", "only this tier (full, degraded, dormant)")
    .option("--limit <n>", "at most this many (1-500)", positiveInt)
    .action(async (o: Flags & { search?: string; stale?: boolean; cloud?: string; cluster?: string; tier?: string; limit?: number }) => {
      const page = await withClient(o, (c) =>
        c.call("/api/v1/workloads", { schema: workloadPage, query: { q: o.search, stale: o.stale === true ? true : undefined, cloud: o.cloud, cluster: o.cluster, tier: o.tier, limit: o.limit } }),
      );
      if (o.json === true) return printJson(page);
      printTable(
        ["ID", "IMAGE", "WHERE", "MODE", "TIER", "LAST SEEN", "STATE"],
        page.items.map((w) => [w.id, w.image.name, [w.location.cloud, w.location.cluster, w.location.service, w.location.task].filter((x) => x !== "").join("/"), w.mode, w.tier, w.last_seen, w.revoked !== null ? "revoked" : w.stale ? "stale" : "live"]),
      );
      if (page.next_offset !== null) process.stdout.write(`(more: raise --limit or use --json)\n`);
    });

  withTarget(program.command("events").description("List stored events, newest first (GET /api/v1/events)"))
    .option("--kind <kind>", "a kind such as exec.drift, or a prefix such as exec.*")
    .option("--severity <list>", "comma-separated severities (critical,high,medium,low,info)")
    .option("--since <time>", "RFC 3339 time, e.g. 2026-11-28T22:40:01Z")
    .option("--workload <id>", "only this workload")
    .option("--rule <rule>", "only this rule")
    .option("--limit <n>", "at most this many (1-1000)", positiveInt)
    .action(async (o: Flags & { kind?: string; severity?: string; since?: string; workload?: string; rule?: string; limit?: number }) => {
      const page = await withClient(o, (c) =>
        c.call("/api/v1/events", { schema: eventPage, query: { kind: o.kind, severity: o.severity, since: o.since, workload: o.workload, rule: o.rule, limit: o.limit } }),
      );
      if (o.json === true) return printJson(page);
      printTable(
        ["TIME", "SEVERITY", "KIND", "ACTION", "RULE", "WORKLOAD", "REASON"],
        page.items.map((e) => [str(e.event.time), str(e.event.severity), str(e.event.kind), str(e.event.action), str(e.event.rule), e.workload, str(e.event.reason)]),
      );
    });

  const enforcers = program.command("enforcers").description("Manage enrolled enforcers");
  withTarget(enforcers.command("revoke").description("Revoke one enforcer's credential now (POST /api/v1/enforcers/{id}/revoke)"))
    .argument("<id>", "the enforcer (workload) id")
    .action(async (id: string, o: Flags) => {
      await withClient(o, (c) => c.call(`/api/v1/enforcers/${encodeURIComponent(id)}/revoke`, { method: "POST", schema: undefined }));
      if (o.json === true) return printJson({ revoked: id });
      process.stdout.write(`revoked enforcer ${id}: its calls are refused from now on\n`);
    });

  const groups = program.command("groups").description("Enforcer groups and the policy they follow");
  withTarget(groups.command("list").description("List groups (GET /api/v1/groups)")).action(async (o: Flags) => {
    const list = await withClient(o, (c) => c.call("/api/v1/groups", { schema: groupList }));
    if (o.json === true) return printJson(list);
    printTable(
      ["ID", "NAME", "POLICY", "OVERRIDE"],
      list.items.map((g) => [g.id, g.name, g.policy === null ? "-" : `${g.policy.name}@${g.policy.version ?? "latest"}`, String(g.policy_override)]),
    );
  });
  withTarget(groups.command("create").description("Create a group (POST /api/v1/groups)"))
    .argument("<name>", "group name")
    .action(async (name: string, o: Flags) => {
      const g = await withClient(o, (c) => c.call("/api/v1/groups", { method: "POST", schema: groupSchema, status: 201, body: { name } }));
      if (o.json === true) return printJson(g);
      process.stdout.write(`created group ${g.name} (${g.id})\n`);
    });
  withTarget(groups.command("policy").description("Set the console policy a group follows (PUT /api/v1/groups/{id}/policy)"))
    .argument("<group>", "group id or name")
    .option("--policy <name>", "policy name (see inlay policies push)")
    .option("--none", "follow no console policy (the image's baked policy applies)")
    .option("--policy-version <n>", "pin this version of the policy (default: follow the newest)", positiveInt)
    .option("--override", "the console policy replaces the policy baked into the image")
    .option("--no-override", "the console policy is merged into the baked policy as an overlay (default)")
    .action(async (group: string, o: Flags & { policy?: string; none?: boolean; policyVersion?: number; override?: boolean }) => {
      if ((o.policy === undefined) === (o.none !== true)) throw new CliError("Cannot set a group's policy: give --policy NAME or --none (one of them)", EXIT_USAGE);
      const g = await withClient(o, async (c) => {
        let id = group;
        if (!UUID.test(group)) {
          const list = await c.call("/api/v1/groups", { schema: groupList });
          const found = list.items.find((x) => x.name === group);
          if (found === undefined) throw new CliError(`Cannot find group ${JSON.stringify(group)} on the console: inlay groups list shows the names`, EXIT_REFUSED);
          id = found.id;
        }
        return c.call(`/api/v1/groups/${encodeURIComponent(id)}/policy`, { method: "PUT",
          schema: groupSchema,
          body: { policy: o.policy ?? null, version: o.policyVersion ?? null, override: o.override === true },
        });
      });
      if (o.json === true) return printJson(g);
      process.stdout.write(`group ${g.name} follows ${g.policy === null ? "no console policy" : `${g.policy.name}@${g.policy.version ?? "latest"}`} (override: ${g.policy_override})\n`);
    });

  const policies = program.command("policies").description("Policies stored in the console");
  withTarget(policies.command("push").description("Upload a new policy version; the console compiles it and refuses bad ones (POST /api/v1/policies/{name}/versions)"))
    .argument("<file>", "policy file (YAML or JSON)")
    .requiredOption("--name <name>", "policy name in the console (lower-case letters, digits, '.', '_' or '-')")
    .action(async (file: string, o: Flags & { name: string }) => {
      let document: string;
      try {
        document = await readFile(file, "utf8");
      } catch (err) {
        throw new CliError(`Cannot read the policy file ${file}: ${(err as Error).message}`, EXIT_IO, { cause: err });
      }
      const v = await withClient(o, (c) => c.call(`/api/v1/policies/${encodeURIComponent(o.name)}/versions`, { method: "POST", schema: policyVersionSchema, status: 201, body: { document } }));
      if (o.json === true) return printJson(v);
      process.stdout.write(`pushed ${file} as policy ${v.name} version ${v.version} (sha256 ${v.sha256})\n`);
    });
}
