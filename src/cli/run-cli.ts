import { Command, CommanderError } from "commander";
import { CliError } from "./cli-error.js";
import { INLAY_VERSION } from "../version.js";
import { register as registerBundle } from "./commands/bundle.js";
import { register as registerPolicy } from "./commands/policy.js";
import { register as registerConsole } from "./commands/console.js";
import { register as registerConsoleApi } from "./commands/console-api.js";
import { register as registerEmbed } from "./commands/embed.js";
import { register as registerScan } from "./commands/scan.js";

/**
 * Builds the command tree. Each subcommand lives in `src/cli/commands/<name>.ts` and registers
 * itself through a `register(program)` function listed here.
 */
export function buildProgram(): Command {
  const program = new Command("inlay")
    .description("Runtime security embedded into container images at build time")
    .version(INLAY_VERSION)
    .exitOverride()
    .showHelpAfterError();
  registerBundle(program);
  registerPolicy(program);
  registerConsole(program);
  registerConsoleApi(program);
  registerEmbed(program);
  registerScan(program);
  return program;
}

/**
 * Runs the CLI and returns the exit code. Known errors ({@link CliError}) print their message;
 * anything else is a bug and says so.
 */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
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
