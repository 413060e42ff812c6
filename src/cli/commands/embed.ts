/**
 * `inlay embed SRC DST`: embeds the enforcer and a bundle into every selected platform of an image.
 * @module
 */
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import type { BundleSpec } from "../../bundle/bundle-spec.js";
import { readBundleSpec } from "../../embed/bundle-spec-file.js";
import { loadBundleWriter, loadScanner } from "../../embed/components.js";
import { embedImage, type EmbedResult } from "../../embed/embed-image.js";
import { ExitCode, toCliError } from "../../embed/exit-codes.js";
import { ttyProgress } from "../../embed/progress.js";
import { ClientPool, formatLocation, openSink, openSource, parseLocation, type Location } from "../../embed/transport.js";
import { parsePlatform, type Platform } from "../../oci/v1/platform.js";

interface EmbedFlags {
  bundleSpec?: string;
  policy?: string;
  platform?: string;
  json?: boolean;
  insecureRegistry?: string[];
  enforcerDir?: string;
}

function parseLocationArg(s: string, which: string): Location {
  try {
    return parseLocation(s);
  } catch (err) {
    throw new CliError(`Cannot use ${which} ${JSON.stringify(s)}: ${(err as Error).message}`, ExitCode.usage, { cause: err });
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

async function bundleSpecFrom(flags: EmbedFlags, defaults: () => BundleSpec): Promise<BundleSpec> {
  if (flags.policy && flags.bundleSpec) throw new CliError("Cannot use --policy and --bundle-spec together: give one", ExitCode.usage);
  if (flags.policy) {
    // The policy compiler lives in src/policy/ (another module); load it by path so this builds without it.
    const compiler = new URL("../../policy/compile-policy.js", import.meta.url);
    if (!existsSync(compiler)) throw new CliError("Cannot use --policy: this build has no policy compiler; pass --bundle-spec JSON instead", ExitCode.usage);
    const mod = (await import(compiler.href)) as { compilePolicyFile?: (path: string) => Promise<BundleSpec> };
    if (typeof mod.compilePolicyFile !== "function") throw new CliError("Cannot use --policy: the policy compiler has no compilePolicyFile()", ExitCode.usage);
    return mod.compilePolicyFile(flags.policy);
  }
  if (flags.bundleSpec) {
    try {
      return await readBundleSpec(flags.bundleSpec);
    } catch (err) {
      throw new CliError((err as Error).message, ExitCode.usage, { cause: err });
    }
  }
  return defaults();
}

/** Registers `embed` on the program. */
export function register(program: Command): void {
  program
    .command("embed")
    .description("Embed the Inlay enforcer and its bundle into an image (registry, OCI layout or docker archive)")
    .argument("<src>", "source: docker://HOST/REPO:TAG|@DIGEST, oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]")
    .argument("<dst>", "destination, in the same forms")
    .option("--policy <file>", "policy file to compile into the bundle")
    .option("--bundle-spec <json>", "bundle spec as a JSON file or inline JSON (instead of --policy)")
    .option("--platform <list>", "comma-separated os/arch[/variant] to embed; others are left out")
    .option("--json", "print the result as JSON")
    .option("--insecure-registry <host>", "allow plain HTTP to this non-loopback registry (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--enforcer-dir <dir>", "directory holding <arch>/inlay-enforcer (default: this installation's build)")
    .action(async (src: string, dst: string, flags: EmbedFlags) => {
      const from = parseLocationArg(src, "source");
      const to = parseLocationArg(dst, "destination");
      const platforms = parsePlatforms(flags.platform);
      const [{ writeBundle, defaultBundleSpec }, scan] = await Promise.all([loadBundleWriter(), loadScanner()]);
      const spec = await bundleSpecFrom(flags, defaultBundleSpec);
      const pool = new ClientPool({ insecureRegistries: flags.insecureRegistry ?? [] });
      const source = openSource(from, pool);
      const sink = openSink(to, pool);
      let result: EmbedResult;
      try {
        const progress = flags.json ? undefined : ttyProgress(process.stderr);
        const r = await embedImage(source, sink, {
          bundleSpec: spec,
          writeBundle,
          scan,
          baseName: formatLocation(from),
          ...(platforms ? { platforms } : {}),
          ...(flags.enforcerDir ? { enforcerDir: flags.enforcerDir } : {}),
          ...(progress ? { onProgress: progress } : {}),
        });
        result = { source: formatLocation(from), destination: formatLocation(to), ...r };
      } catch (err) {
        throw toCliError(err, `Cannot embed ${formatLocation(from)} into ${formatLocation(to)}`);
      } finally {
        await sink.close();
        await source.close();
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const lines = [`embedded ${result.destination} ${result.digest}`];
      for (const p of result.platforms) {
        lines.push(`  ${p.platform}: ${p.digest} (${p.executables} executables, ${p.setuid} setuid/setgid${p.replacedInlayLayer ? ", replaced the previous Inlay layer" : ""})`);
      }
      for (const d of result.dropped) lines.push(`  dropped ${d.digest}${d.platform ? ` (${d.platform})` : ""}: ${d.reason}`);
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
