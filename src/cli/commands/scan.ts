/**
 * `inlay scan SRC`: the executable manifest of an image, as a summary or (`--json`) in full.
 * @module
 */
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { createLayerScanner } from "../../embed/worker-scan.js";
import { formatScanSummary } from "../../scan/summary.js";
import { ExitCode, toCliError } from "../../embed/exit-codes.js";
import { ttyProgress, type PlatformLayerProgress } from "../../embed/progress.js";
import { scanImage } from "../../embed/scan-image.js";
import { formatLocation, openSource, parseLocation } from "../../embed/transport.js";
import { relaxHeapGrowth } from "../heap-growth.js";
import { writeJson } from "../write-json.js";
import { clientPoolFrom, heapGrowthMode, parsePlatforms, registryOptions, scanWorkers, type RegistryFlags } from "./embed.js";

/** Registers `scan` on the program. */
export function register(program: Command): void {
  const cmd = program
    .command("scan")
    .description("List the executables an image ships (summary, or the full manifest with --json)")
    .argument("<src>", "docker://HOST/REPO:TAG|@DIGEST, oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]")
    .option("--platform <list>", "comma-separated os/arch[/variant] to scan (default: all)")
    .option("--json", "print the full manifest as JSON (one platform: the manifest; several: an object keyed by platform, or platform@digest where two images share one)");
  registryOptions(cmd).action(async (src: string, flags: { platform?: string; json?: boolean } & RegistryFlags) => {
    let loc;
    try {
      loc = parseLocation(src);
    } catch (err) {
      throw new CliError(`Cannot use source ${JSON.stringify(src)}: ${(err as Error).message}`, ExitCode.usage, { cause: err });
    }
    const platforms = parsePlatforms(flags.platform);
    const workers = scanWorkers();
    const heapMode = heapGrowthMode();
    const source = openSource(loc, clientPoolFrom(flags));
    const scanner = createLayerScanner({ workers });
    let results;
    const progress = flags.json ? undefined : ttyProgress(process.stderr, { mode: "scan" });
    const heap = relaxHeapGrowth({ mode: heapMode });
    try {
      results = await scanImage(source, (image) => scanner.scan(image), { ...(platforms ? { platforms } : {}), ...(progress ? { onProgress: (p: PlatformLayerProgress) => progress.update(p) } : {}) });
      progress?.finish("done");
    } catch (err) {
      progress?.finish("failed");
      throw toCliError(err, `Cannot scan ${formatLocation(loc)}`);
    } finally {
      heap.stop();
      await scanner.close();
      await source.close();
    }
    if (flags.json) {
      // An index may hold two images of one platform (legal in OCI); those are keyed with their
      // manifest digest too, so neither overwrites the other.
      const count = new Map<string, number>();
      for (const r of results) count.set(r.platform, (count.get(r.platform) ?? 0) + 1);
      const key = (r: (typeof results)[number]): string => (count.get(r.platform)! > 1 ? `${r.platform}@${r.digest}` : r.platform);
      const doc = results.length === 1 ? results[0]!.manifest : Object.fromEntries(results.map((r) => [key(r), r.manifest]));
      try {
        await writeJson(process.stdout, doc);
      } catch (err) {
        throw new CliError(`Cannot write the manifest to standard output: ${(err as Error).message}`, ExitCode.failure, { cause: err });
      }
      return;
    }
    for (const r of results) process.stdout.write(`${formatLocation(loc)} ${r.platform} ${r.digest}\n${formatScanSummary(r.manifest)}\n`);
  });
}
