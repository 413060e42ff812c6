/**
 * `inlay embed SRC DST`: embeds the enforcer and a bundle into every selected platform of an image.
 * @module
 */
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { writeJson, writeText } from "../write-json.js";
import { readBundleSpec } from "../../embed/bundle-spec-file.js";
import { policyBundleBuilder, specBundleBuilder } from "../../embed/components.js";
import { embedImage, type BundleBuilder, type EmbedResult } from "../../embed/embed-image.js";
import { defaultPolicy } from "../../policy/default-policy.js";
import { loadPolicyFile, type LoadedPolicy } from "../../policy/load-policy.js";
import { createLayerScanner, scanWorkersFromEnv } from "../../embed/worker-scan.js";
import { ExitCode, toCliError } from "../../embed/exit-codes.js";
import { ttyProgress, type PlatformLayerProgress } from "../../embed/progress.js";
import { heapGrowthModeFromEnv, relaxHeapGrowth } from "../heap-growth.js";
import { ClientPool, formatLocation, openSink, openSource, parseLocation, parseRegistryEndpoint, type Location } from "../../embed/transport.js";
import { parsePlatform, type Platform } from "../../oci/v1/platform.js";

interface EmbedFlags {
  bundleSpec?: string;
  policy?: string;
  buildTime?: string;
  allowUnenforced?: boolean;
  platform?: string;
  json?: boolean;
  insecureRegistry?: string[];
  registryEndpoint?: string[];
  enforcerDir?: string;
}

/** The registry flags `embed` and `scan` share. */
export interface RegistryFlags {
  insecureRegistry?: string[];
  registryEndpoint?: string[];
}

/** The client pool for `--insecure-registry` and `--registry-endpoint`; a bad endpoint is a usage error. */
export function clientPoolFrom(flags: RegistryFlags): ClientPool {
  const insecureRegistries = flags.insecureRegistry ?? [];
  const endpoints = new Map<string, string>();
  for (const e of flags.registryEndpoint ?? []) {
    try {
      const { registry, origin } = parseRegistryEndpoint(e, { insecureRegistries });
      endpoints.set(registry, origin);
    } catch (err) {
      throw new CliError(`Cannot use --registry-endpoint ${JSON.stringify(e)}: ${(err as Error).message}`, ExitCode.usage, { cause: err });
    }
  }
  return new ClientPool({ insecureRegistries, endpoints });
}

/** Registers `--insecure-registry` and `--registry-endpoint` on a command. */
export function registryOptions(cmd: Command): Command {
  const collect = (v: string, acc: string[]): string[] => [...acc, v];
  return cmd
    .option("--insecure-registry <host>", "allow plain HTTP to this non-loopback registry (repeatable)", collect, [] as string[])
    .option("--registry-endpoint <name=url>", "send requests for registry NAME to URL (a mirror or proxy; it receives NAME's credentials; repeatable)", collect, [] as string[]);
}

function parseLocationArg(s: string, which: string): Location {
  try {
    return parseLocation(s);
  } catch (err) {
    throw new CliError(`Cannot use ${which} ${JSON.stringify(s)}: ${(err as Error).message}`, ExitCode.usage, { cause: err });
  }
}

/** The scan worker count from `INLAY_SCAN_WORKERS`; a bad value is a usage error. */
export function scanWorkers(): number {
  try {
    return scanWorkersFromEnv();
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.usage, { cause: err });
  }
}

/** `INLAY_HEAP_GROWTH` (see heap-growth.ts); a bad value is a usage error. */
export function heapGrowthMode(): "relaxed" | "v8" {
  try {
    return heapGrowthModeFromEnv();
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.usage, { cause: err });
  }
}

/** Parses `--platform linux/amd64,linux/arm64`. */
export function parsePlatforms(s: string | undefined): Platform[] | undefined {
  if (s === undefined) return undefined;
  try {
    return s.split(",").map((p) => parsePlatform(p.trim()));
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.usage, { cause: err });
  }
}

/** `--build-time`, else `$SOURCE_DATE_EPOCH` (reproducible builds), else now. */
function buildTimeOf(flags: EmbedFlags): Date {
  const fromFlag = flags.buildTime;
  if (fromFlag !== undefined) {
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(fromFlag) || Number.isNaN(Date.parse(fromFlag))) {
      throw new CliError(`Cannot use --build-time ${JSON.stringify(fromFlag)}: expected an ISO 8601 date-time with a zone, e.g. 2026-11-28T12:00:00Z`, ExitCode.usage);
    }
    return new Date(fromFlag);
  }
  const epoch = process.env["SOURCE_DATE_EPOCH"];
  if (epoch === undefined || epoch === "") return new Date();
  if (!/^\d{1,12}$/.test(epoch)) throw new CliError(`Cannot use SOURCE_DATE_EPOCH=${JSON.stringify(epoch)} as the build time: expected whole seconds since 1970, or pass --build-time`, ExitCode.usage);
  return new Date(Number(epoch) * 1000);
}

/** The bundle builder the flags ask for: a fixed spec, a policy file, or the default policy. */
async function bundleBuilderFrom(flags: EmbedFlags, warn: (line: string) => void): Promise<BundleBuilder> {
  if (flags.policy !== undefined && flags.bundleSpec !== undefined) throw new CliError("Cannot use --policy and --bundle-spec together: give one", ExitCode.usage);
  if (flags.bundleSpec !== undefined) {
    try {
      return specBundleBuilder(await readBundleSpec(flags.bundleSpec));
    } catch (err) {
      throw new CliError((err as Error).message, ExitCode.policy, { cause: err });
    }
  }
  let loaded: LoadedPolicy;
  try {
    loaded = flags.policy !== undefined ? await loadPolicyFile(flags.policy) : defaultPolicy();
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.policy, { cause: err });
  }
  return policyBundleBuilder(loaded, {
    buildTime: buildTimeOf(flags),
    allowUnenforced: flags.allowUnenforced === true,
    warn,
  });
}

/** Registers `embed` on the program. */
export function register(program: Command): void {
  const cmd = program
    .command("embed")
    .description("Embed the Inlay enforcer and its bundle into an image (registry, OCI layout or docker archive)")
    .argument("<src>", "source: docker://HOST/REPO:TAG|@DIGEST, oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]")
    .argument("<dst>", "destination, in the same forms")
    .option("--policy <file>", "policy file to compile into the bundle")
    .option("--bundle-spec <json>", "bundle spec as a JSON file or inline JSON (instead of --policy)")
    .option("--allow-unenforced", "build a policy that asks for controls this enforcer cannot enforce (warns)")
    .option("--build-time <iso>", "image build time for afterDaysFromBuild (default: $SOURCE_DATE_EPOCH, else now)")
    .option("--platform <list>", "comma-separated os/arch[/variant] to embed; others are left out")
    .option("--json", "print the result as JSON")
    .option("--enforcer-dir <dir>", "directory holding <arch>/inlay-enforcer (default: this installation's build)");
  registryOptions(cmd).action(async (src: string, dst: string, flags: EmbedFlags) => {
    const from = parseLocationArg(src, "source");
    const to = parseLocationArg(dst, "destination");
    const platforms = parsePlatforms(flags.platform);
    const workers = scanWorkers();
    const heapMode = heapGrowthMode();
    // Progress only on a terminal and never with --json; warnings go above the status line.
    const progress = flags.json ? undefined : ttyProgress(process.stderr, { mode: "embed" });
    const warn = (line: string): void => (progress ? progress.log(line) : void process.stderr.write(`${line}\n`));
    const bundleFor = await bundleBuilderFrom(flags, warn);
    const pool = clientPoolFrom(flags);
    const source = openSource(from, pool);
    const sink = openSink(to, pool);
    const scanner = createLayerScanner({ workers });
    const heap = relaxHeapGrowth({ mode: heapMode });
    let result: EmbedResult;
    try {
      const r = await embedImage(source, sink, {
        bundleFor,
        scan: (image) => scanner.scan(image),
        baseName: formatLocation(from),
        ...(platforms ? { platforms } : {}),
        ...(flags.enforcerDir ? { enforcerDir: flags.enforcerDir } : {}),
        ...(progress ? { onProgress: (p: PlatformLayerProgress) => progress.update(p) } : {}),
      });
      result = { source: formatLocation(from), destination: formatLocation(to), ...r };
      progress?.finish("done");
    } catch (err) {
      progress?.finish("failed");
      throw toCliError(err, `Cannot embed ${formatLocation(from)} into ${formatLocation(to)}`);
    } finally {
      heap.stop();
      await scanner.close();
      await sink.close();
      await source.close();
    }
    const lines = [`embedded ${result.destination} ${result.digest}`];
    for (const p of result.platforms) {
      lines.push(`  ${p.platform}: ${p.digest} (${p.executables} executables, ${p.setuid} setuid/setgid${p.replacedInlayLayer ? ", replaced the previous Inlay layer" : ""})`);
    }
    for (const d of result.dropped) lines.push(`  dropped ${d.digest}${d.platform ? ` (${d.platform})` : ""}: ${d.reason}`);
    try {
      await (flags.json ? writeJson(process.stdout, result) : writeText(process.stdout, `${lines.join("\n")}\n`));
    } catch (err) {
      // The image is written; a script reading the result must still see that something failed.
      throw new CliError(`Embedded ${result.destination} ${result.digest}, but cannot print the result to standard output: ${(err as Error).message}`, ExitCode.failure, { cause: err });
    }
  });
}
