/**
 * `inlay bundle write` and `inlay bundle id`: build the enforcer's policy bundle from a spec file,
 * flags and a directory's executables, and print a bundle's id.
 *
 * Exit codes: 0 done; 1 the spec, manifest or file is wrong (the message names it); 2 usage.
 * @module
 */
import { constants as fsc } from "node:fs";
import { open } from "node:fs/promises";
import { Command, Option } from "commander";
import { z } from "zod";
import type { BundleSpec, ControlMode, ControlName } from "../../bundle/bundle-spec.js";
import { defaultBundleSpec } from "../../bundle/default-bundle-spec.js";
import {
  BUNDLE_MAX_SIZE,
  bundleId,
  controlsSchema,
  dormancySchema,
  enforceAfterSchema,
  executableListSchema,
  manifestEntrySchema,
  writeBundle,
} from "../../bundle/write-bundle.js";
import { scanDirectory } from "../../scan/scan-directory.js";
import { CliError } from "../cli-error.js";
import { readBounded } from "../../files/read-bounded.js";
import { writeFileAtomic } from "../write-file-atomic.js";

const MODES = ["off", "audit", "enforce"] as const;

/** A spec file: any subset of a BundleSpec; what it leaves out comes from the defaults. */
const specFileSchema = z
  .object({
    failMode: z.enum(["closed", "open"]),
    activation: z.enum(["always", "serverless"]),
    dormancy: dormancySchema.partial(),
    controls: controlsSchema.partial(),
    enforceAfter: enforceAfterSchema,
    driftSource: z.enum(["manifest", "ctime"]),
    reportExecs: z.boolean(),
    blockList: executableListSchema.partial(),
    blockListAudit: executableListSchema.partial(),
    allowList: executableListSchema.partial(),
    manifest: z.array(manifestEntrySchema),
  })
  .partial()
  .strict();

interface WriteOptions {
  output: string;
  manifestDir?: string;
  spec?: string;
  drift?: ControlMode;
  driftSource?: "manifest" | "ctime";
  fileless?: ControlMode;
  loader?: ControlMode;
  blocklist?: ControlMode;
  allowlist?: ControlMode;
  blockName: string[];
  blockPath: string[];
  blockSha256: string[];
  allowName: string[];
  allowPath: string[];
  allowSha256: string[];
  failOpen?: boolean;
  activation?: "always" | "serverless";
  dormantEnv: string[];
  dormantPath: string[];
  reportExecs?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

async function readSpecFile(path: string): Promise<z.infer<typeof specFileSchema>> {
  let text: string;
  try {
    // A spec holds at most a bundle's worth of manifest: its JSON is a few times the bundle limit.
    text = (await readBounded(path, 4 * BUNDLE_MAX_SIZE)).toString("utf8");
  } catch (err) {
    throw new CliError(`Cannot read the spec file ${path}: ${(err as Error).message}`, 1, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`Cannot read the spec file ${path}: not valid JSON (${(err as Error).message})`, 1, { cause: err });
  }
  const parsed = specFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
    throw new CliError(`Cannot read the spec file ${path}: ${field || "top level"}: ${issue.message}`, 1, { cause: parsed.error });
  }
  return parsed.data;
}

/** Defaults, then the spec file, then flags (list flags add to the lists). */
async function buildSpec(opts: WriteOptions): Promise<BundleSpec> {
  const spec = defaultBundleSpec();
  if (opts.spec) {
    const file = await readSpecFile(opts.spec);
    if (file.failMode) spec.failMode = file.failMode;
    if (file.activation) spec.activation = file.activation;
    if (file.driftSource) spec.driftSource = file.driftSource;
    if (file.reportExecs !== undefined) spec.reportExecs = file.reportExecs;
    spec.dormancy = { ...spec.dormancy, ...file.dormancy };
    spec.controls = { ...spec.controls, ...file.controls };
    spec.enforceAfter = { ...file.enforceAfter };
    spec.blockList = { ...spec.blockList, ...file.blockList };
    if (file.blockListAudit) spec.blockListAudit = { names: [], pathGlobs: [], sha256: [], ...file.blockListAudit };
    spec.allowList = { ...spec.allowList, ...file.allowList };
    spec.manifest = [...(file.manifest ?? [])];
  }
  const controls: [ControlName, ControlMode | undefined][] = [
    ["drift", opts.drift],
    ["fileless", opts.fileless],
    ["loader", opts.loader],
    ["blocklist", opts.blocklist],
    ["allowlist", opts.allowlist],
  ];
  for (const [name, mode] of controls) if (mode) spec.controls[name] = mode;
  if (opts.driftSource) spec.driftSource = opts.driftSource;
  if (opts.failOpen) spec.failMode = "open";
  if (opts.activation) spec.activation = opts.activation;
  if (opts.reportExecs) spec.reportExecs = true;
  spec.dormancy.env.push(...opts.dormantEnv);
  spec.dormancy.paths.push(...opts.dormantPath);
  spec.blockList.names.push(...opts.blockName);
  spec.blockList.pathGlobs.push(...opts.blockPath);
  spec.blockList.sha256.push(...opts.blockSha256);
  spec.allowList.names.push(...opts.allowName);
  spec.allowList.pathGlobs.push(...opts.allowPath);
  spec.allowList.sha256.push(...opts.allowSha256);
  if (opts.manifestDir) {
    let entries;
    try {
      entries = (await scanDirectory(opts.manifestDir)).entries;
    } catch (err) {
      throw new CliError((err as Error).message, 1, { cause: err });
    }
    spec.manifest.push(...entries.map((e) => ({ sha256: e.sha256, path: e.path })));
  }
  return spec;
}

async function writeCommand(opts: WriteOptions): Promise<void> {
  const spec = await buildSpec(opts);
  let bytes: Buffer;
  try {
    bytes = writeBundle(spec);
  } catch (err) {
    const message = (err as Error).message.replace(/^Cannot write bundle: /, `Cannot write bundle ${opts.output}: `);
    const hint = /: manifest is empty/.test(message) ? "; pass --manifest-dir DIR, --drift-source ctime or --drift off" : "";
    throw new CliError(`${message}${hint}`, 1, { cause: err });
  }
  try {
    await writeFileAtomic(opts.output, bytes);
  } catch (err) {
    throw new CliError((err as Error).message, 1, { cause: err });
  }
  process.stdout.write(`wrote ${opts.output}: ${bundleId(bytes)} (${spec.manifest.length === 0 ? "no" : new Set(spec.manifest.map((e) => e.path)).size} executables in the manifest)\n`);
}

async function idCommand(file: string): Promise<void> {
  let bytes: Buffer;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    const fh = await open(file, fsc.O_RDONLY | fsc.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error("not a regular file");
      if (st.size > BUNDLE_MAX_SIZE) throw new Error(`${st.size} bytes is over the ${BUNDLE_MAX_SIZE}-byte bundle limit`);
      bytes = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new CliError(`Cannot read bundle ${file}: ${(err as Error).message}`, 1, { cause: err });
  }
  if (!bytes.subarray(0, 15).equals(Buffer.from("inlay-bundle 1\n"))) {
    throw new CliError(`Cannot read bundle ${file}: not an inlay bundle (the first line must be "inlay-bundle 1")`, 1);
  }
  process.stdout.write(`${bundleId(bytes)}\n`);
}

const modeOption = (flag: string, what: string) => new Option(`${flag} <mode>`, what).choices(MODES);

/** Adds `inlay bundle write` and `inlay bundle id`. */
export function register(program: Command): void {
  const bundle = program.command("bundle").description("Write and inspect the enforcer's policy bundle");
  bundle
    .command("write")
    .description("Write a bundle from the defaults, an optional spec file, flags and a directory's executables")
    .requiredOption("-o, --output <file>", "bundle file to write (replaced atomically)")
    .option("--manifest-dir <dir>", "scan this directory tree (an unpacked root file system) for the exe manifest")
    .option("--spec <json-file>", "a JSON BundleSpec (any subset; flags given here override it)")
    .addOption(modeOption("--drift", "drift control mode (default enforce)"))
    .addOption(new Option("--drift-source <source>", "what counts as drift (default manifest)").choices(["manifest", "ctime"]))
    .addOption(modeOption("--fileless", "fileless exec control mode (default enforce)"))
    .addOption(modeOption("--loader", "direct loader exec control mode (default enforce)"))
    .addOption(modeOption("--blocklist", "block list control mode (default enforce)"))
    .addOption(modeOption("--allowlist", "allow list control mode (default off)"))
    .option("--block-name <name>", "block executables with this basename (repeatable)", collect, [])
    .option("--block-path <glob>", "block executables whose absolute path matches (repeatable)", collect, [])
    .option("--block-sha256 <hex>", "block executables with this content hash (repeatable)", collect, [])
    .option("--allow-name <name>", "allow list entry by basename (repeatable)", collect, [])
    .option("--allow-path <glob>", "allow list entry by path glob (repeatable)", collect, [])
    .option("--allow-sha256 <hex>", "allow list entry by content hash (repeatable)", collect, [])
    .option("--fail-open", "run the workload unprotected when ptrace or seccomp is unavailable (default: refuse to start)")
    .addOption(new Option("--activation <when>", "serverless: stay dormant outside recognised serverless platforms").choices(["always", "serverless"]))
    .option("--dormant-env <NAME[=VALUE]>", "stay dormant when this variable is set (repeatable)", collect, [])
    .option("--dormant-path <path>", "stay dormant when this path exists (repeatable)", collect, [])
    .option("--report-execs", "report every allowed exec as a process.exec event")
    .action(async (opts: WriteOptions) => writeCommand(opts));
  bundle
    .command("id")
    .description("Print a bundle's id (sha256:<hex> of the file), as events carry it")
    .argument("<file>", "bundle file")
    .action(async (file: string) => idCommand(file));
}
