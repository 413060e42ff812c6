import { Command, CommanderError } from "commander";
import { CliError } from "./cli-error.js";
import { INLAY_VERSION } from "../version.js";

type CommandModule = { register(program: Command): void };

/**
 * Each command module (`src/cli/commands/<name>.ts`, registering itself through `register(program)`)
 * and the top-level command names it registers, in help order. Modules are imported only when
 * needed: loading all of them (the console server, its database drivers, the API client) costs
 * about 0.2 s and 20 MiB, which every `inlay embed` in a CI job would otherwise pay.
 */
const COMMANDS: { names: string[]; load: () => Promise<CommandModule> }[] = [
  { names: ["bundle"], load: () => import("./commands/bundle.js") },
  { names: ["policy"], load: () => import("./commands/policy.js") },
  { names: ["console"], load: () => import("./commands/console.js") },
  { names: ["workloads", "events", "enforcers", "groups", "policies"], load: () => import("./commands/console-api.js") },
  { names: ["embed"], load: () => import("./commands/embed.js") },
  { names: ["scan"], load: () => import("./commands/scan.js") },
];

/**
 * Builds the command tree: only the module of the command named first in `argv` when there is one,
 * every module otherwise (help, `--version`, an unknown command, so errors list all commands).
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command("inlay")
    .description("Runtime security embedded into container images at build time")
    .version(INLAY_VERSION)
    .exitOverride()
    .showHelpAfterError();
  const first = argv[0];
  const named = COMMANDS.find((c) => first !== undefined && c.names.includes(first));
  const modules = await Promise.all((named ? [named] : COMMANDS).map((c) => c.load()));
  for (const m of modules) m.register(program);
  return program;
}

/**
 * Runs the CLI and returns the exit code. Known errors ({@link CliError}) print their message;
 * anything else is a bug and says so.
 */
export async function runCli(argv: string[]): Promise<number> {
  // A closed or full standard output (`| head`, /dev/full) must not end in an unhandled 'error'
  // event; commands that print results await their writes and say what was done.
  let stdoutError: Error | undefined;
  const onStdoutError = (err: Error): void => void (stdoutError ??= err);
  process.stdout.on("error", onStdoutError);
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: "user" });
    // A failed write reports its 'error' on a later tick.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (stdoutError) {
      // A reader that closed the pipe (`| head`) chose to stop: fail, but without a message.
      if ((stdoutError as NodeJS.ErrnoException).code !== "EPIPE") process.stderr.write(`inlay: Cannot write to standard output: ${stdoutError.message}\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliError) {
      process.stderr.write(`inlay: ${err.message}\n`);
      return err.exitCode;
    }
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`inlay: internal error (a bug; please report it):\n${detail.replaceAll(process.cwd(), ".")}\n`);
    return 70;
  }
}
