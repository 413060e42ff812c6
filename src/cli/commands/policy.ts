/**
 * `inlay policy check|compile|overlay|explain|suggest|default`. Exit codes (docs/policy.md):
 * 0 done; 1 the policy or events file is invalid; 2 usage; 3 a valid policy this enforcer cannot
 * compile as written; 4 an input could not be read or the output written.
 * @module
 */
import { createReadStream } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { CliError } from "../cli-error.js";
import type { BundleSpec } from "../../bundle/bundle-spec.js";
import { bundleId, writeBundle } from "../../bundle/write-bundle.js";
import { policyOverlayId, writePolicyOverlay } from "../../bundle/write-policy-overlay.js";
import { readBounded, TooLargeError } from "../../files/read-bounded.js";
import { writeFileAtomic } from "../write-file-atomic.js";
import { planPolicy, type CompileFinding } from "../../policy/compile-policy.js";
import { DEFAULT_POLICY_YAML } from "../../policy/default-policy.js";
import { explainPolicy } from "../../policy/explain-policy.js";
import { parsePolicy, type LoadedPolicy } from "../../policy/load-policy.js";
import { loadMinerList, type MinerList } from "../../policy/miner-list.js";
import { PolicyError } from "../../policy/policy-error.js";
import { policySchema } from "../../policy/policy-schema.js";
import { MAX_POLICY_BYTES } from "../../policy/policy-source.js";
import { reportFindings } from "../../policy/report-findings.js";
import { EventsFileError, suggestPolicyFromStream } from "../../policy/suggest-policy.js";
import { scanDirectory } from "../../scan/scan-directory.js";

export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;
export const EXIT_REFUSED = 3;
export const EXIT_IO = 4;

/** Registers `inlay policy ...` on the program. */
export function register(program: Command): void {
  const policy = program.command("policy").description("Write, check, compile and explain runtime policies");

  policy
    .command("check")
    .description("Validate a policy and say whether this enforcer can compile it")
    .argument("<file>", "policy file (YAML, or JSON when it ends in .json; - reads stdin)")
    .addOption(buildTimeOption())
    .option("--allow-unenforced", "accept controls this enforcer version cannot enforce yet (warn instead)")
    .action(async (file: string, opts: { buildTime?: Date; allowUnenforced?: boolean }) => {
      const loaded = await readPolicy(file);
      const { findings } = planPolicy(loaded.policy, { buildTime: buildTimeOf(opts), manifest: [] });
      // The manifest comes from the image at embed time: check does not require it.
      const relevant = findings.filter((f) => f.reason !== "needs-manifest");
      reportOrRefuse(loaded, relevant, opts.allowUnenforced === true);
      process.stdout.write(`${loaded.source.file}: valid policy "${loaded.policy.metadata.name}"\n`);
    });

  policy
    .command("compile")
    .description("Compile a policy into an enforcer bundle")
    .argument("<file>", "policy file (- reads stdin)")
    .option("-o, --output <bundle>", "bundle file to write (written to a temporary file, then renamed)")
    .option("--print-spec", "print the compiled bundle spec as JSON on stdout")
    .option("--manifest-dir <dir>", "directory tree whose executables form the drift manifest (the image's root filesystem)")
    .addOption(buildTimeOption())
    .option("--allow-unenforced", "build even when the policy sets controls this enforcer version cannot enforce yet")
    .option("--miner-list <file>", "replace the shipped miner list (same JSON format as src/policy/data/miners.json)")
    .action(
      async (
        file: string,
        opts: { output?: string; printSpec?: boolean; manifestDir?: string; buildTime?: Date; allowUnenforced?: boolean; minerList?: string },
      ) => {
        if (opts.output === undefined && opts.printSpec !== true) {
          throw new CliError("Cannot compile: say where the bundle goes with -o BUNDLE (or --print-spec to see it)", EXIT_USAGE);
        }
        const loaded = await readPolicy(file);
        const minerList = opts.minerList !== undefined ? await readMinerList(opts.minerList) : undefined;
        let manifest: BundleSpec["manifest"] = [];
        if (opts.manifestDir !== undefined) {
          try {
            manifest = (await scanDirectory(opts.manifestDir)).entries.map((e) => ({ sha256: e.sha256, path: e.path }));
          } catch (err) {
            throw new CliError(`Cannot compile ${loaded.source.file}: ${(err as Error).message}`, EXIT_IO, { cause: err });
          }
        }
        const { spec, findings } = planPolicy(loaded.policy, {
          buildTime: buildTimeOf(opts),
          manifest,
          ...(minerList !== undefined ? { minerList } : {}),
        });
        reportOrRefuse(loaded, findings, opts.allowUnenforced === true);
        if (opts.printSpec === true) process.stdout.write(`${JSON.stringify(spec, null, 2)}\n`);
        if (opts.output !== undefined) {
          let bytes: Buffer;
          try {
            bytes = writeBundle(spec);
          } catch (err) {
            // The policy schema keeps every value within the bundle's limits; this is a path
            // from --manifest-dir that is too long for a bundle line, or a bug.
            throw new CliError(`Cannot compile ${loaded.source.file}: ${(err as Error).message}`, EXIT_REFUSED, { cause: err });
          }
          await writeAtomically(opts.output, bytes);
          process.stderr.write(`inlay: wrote ${opts.output}: ${bundleId(bytes)} (${spec.manifest.length} executables in the manifest)\n`);
        }
      },
    );

  policy
    .command("overlay")
    .description("Compile a policy into the policy overlay a console serves for it (any image; no manifest, no build time)")
    .argument("<file>", "policy file (- reads stdin)")
    .option("-o, --output <overlay>", "overlay file to write (written to a temporary file, then renamed); default: stdout")
    .option("--allow-unenforced", "compile even when the policy sets controls the overlay cannot carry (fail mode, activation...)")
    .action(async (file: string, opts: { output?: string; allowUnenforced?: boolean }) => {
      const loaded = await readPolicy(file);
      // The console's own compile path (target overlay): an upload it would refuse is refused here.
      const { spec, findings } = planPolicy(loaded.policy, { target: "overlay" });
      reportOrRefuse(loaded, findings, opts.allowUnenforced === true);
      let bytes: Buffer;
      try {
        bytes = writePolicyOverlay(spec);
      } catch (err) {
        throw new CliError(`Cannot compile ${loaded.source.file}: ${(err as Error).message}`, EXIT_REFUSED, { cause: err });
      }
      if (opts.output === undefined) {
        process.stdout.write(bytes);
        return;
      }
      await writeAtomically(opts.output, bytes);
      process.stderr.write(`inlay: wrote ${opts.output}: ${policyOverlayId(bytes)}\n`);
    });

  policy
    .command("explain")
    .description("Say in plain words what a policy blocks, audits and allows")
    .argument("<file>", "policy file (- reads stdin)")
    .addOption(buildTimeOption())
    .action(async (file: string, opts: { buildTime?: Date }) => {
      const loaded = await readPolicy(file);
      process.stdout.write(explainPolicy(loaded.policy, { buildTime: buildTimeOf(opts) }));
    });

  policy
    .command("suggest")
    .description("Learn mode: turn the events of an audit-mode run into a minimal allow-list policy")
    .argument("<events>", "NDJSON events file (- reads stdin)")
    .option("-o, --output <file>", "write the policy here instead of stdout")
    .addOption(new Option("--mode <mode>", "mode of the suggested allow list").choices(["audit", "enforce"]).default("audit"))
    .option("--name <name>", "metadata.name of the suggested policy", "suggested")
    .action(async (eventsFile: string, opts: { output?: string; mode: "audit" | "enforce"; name: string }) => {
      if (!policySchema.shape.metadata.shape.name.safeParse(opts.name).success) {
        throw new CliError(`Cannot suggest a policy named ${JSON.stringify(opts.name)}: --name takes letters, digits, '.', '_' or '-' (at most 128)`, EXIT_USAGE);
      }
      const file = eventsFile === "-" ? "(stdin)" : eventsFile;
      let yaml: string;
      try {
        // Read a line at a time: a long run's events need not fit in memory.
        const input = eventsFile === "-" ? process.stdin : createReadStream(eventsFile);
        yaml = (await suggestPolicyFromStream(input, { file, mode: opts.mode, name: opts.name })).yaml;
      } catch (err) {
        if (err instanceof EventsFileError) throw new CliError(err.message, EXIT_INVALID, { cause: err });
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new CliError(`Cannot read events ${eventsFile}: ${code}`, EXIT_IO, { cause: err });
      }
      // The suggestion must itself be a valid policy: a failure here is a bug, not user input.
      parsePolicy(yaml, { file: "(suggested policy)" });
      if (opts.output !== undefined) await writeAtomically(opts.output, Buffer.from(yaml, "utf8"));
      else process.stdout.write(yaml);
    });

  policy
    .command("default")
    .description("Print the policy used when none is given")
    .action(() => {
      process.stdout.write(DEFAULT_POLICY_YAML);
    });
}

function buildTimeOption(): Option {
  return new Option("--build-time <iso>", "image build time for afterDaysFromBuild (default: $SOURCE_DATE_EPOCH, else now)").argParser(
    parseBuildTime,
  );
}

function parseBuildTime(value: string): Date {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError("expected an ISO 8601 date-time with a zone, e.g. 2026-11-28T12:00:00Z");
  }
  return new Date(value);
}

/** `--build-time`, else `$SOURCE_DATE_EPOCH` (reproducible builds), else now. */
function buildTimeOf(opts: { buildTime?: Date }): Date {
  if (opts.buildTime !== undefined) return opts.buildTime;
  const epoch = process.env["SOURCE_DATE_EPOCH"];
  if (epoch === undefined || epoch === "") return new Date();
  if (!/^\d{1,12}$/.test(epoch)) {
    throw new CliError(`Cannot use SOURCE_DATE_EPOCH=${JSON.stringify(epoch)} as the build time: expected whole seconds since 1970, or pass --build-time`, EXIT_USAGE);
  }
  return new Date(Number(epoch) * 1000);
}

async function readPolicy(file: string): Promise<LoadedPolicy> {
  let text: string;
  try {
    text = (await readBounded(file === "-" ? process.stdin : file, MAX_POLICY_BYTES)).toString("utf8");
  } catch (err) {
    // Over the size limit the policy is invalid (exit 1), as parsePolicy says of a longer text.
    if (err instanceof TooLargeError) throw new CliError(`Cannot read policy ${file}: ${err.message}; a policy is a few kilobytes`, EXIT_INVALID, { cause: err });
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new CliError(`Cannot read policy ${file}: ${code}`, EXIT_IO, { cause: err });
  }
  try {
    return parsePolicy(text, { file: file === "-" ? "(stdin)" : file });
  } catch (err) {
    if (err instanceof PolicyError) throw new CliError(err.message, EXIT_INVALID, { cause: err });
    throw err;
  }
}

async function readMinerList(file: string): Promise<MinerList> {
  try {
    return await loadMinerList(file);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_INVALID, { cause: err });
  }
}

/**
 * Prints warnings and notes; throws when the policy cannot be compiled as written: invalid
 * findings always, explicitly requested unenforced controls unless allowed.
 */
function reportOrRefuse(loaded: LoadedPolicy, findings: CompileFinding[], allowUnenforced: boolean): void {
  const report = reportFindings(loaded.source, findings, { allowUnenforced });
  if (report.refusals.length > 0) {
    const n = report.refusals.length;
    throw new CliError(`Cannot compile policy ${loaded.source.file}: ${n} problem${n === 1 ? "" : "s"}\n${report.refusals.join("\n")}`, EXIT_REFUSED);
  }
  for (const line of [...report.warnings, ...report.notes]) process.stderr.write(`inlay: ${line}\n`);
}

async function writeAtomically(path: string, content: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, content);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_IO, { cause: err });
  }
}
