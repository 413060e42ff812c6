#!/usr/bin/env node
/**
 * The `inlay` command line. Only this file sets the exit code: commands throw, and
 * {@link runCli} translates errors into one message and a documented exit code.
 * @module
 */
import { runCli } from "./run-cli.js";

// When a command waits on something that can never happen (a stream nobody will end), the event
// loop empties and Node exits with 13, which is a documented code of `inlay embed` (no usable
// enforcer). Say what happened instead, with the code for a bug.
let finished = false;
process.on("exit", () => {
  if (finished) return;
  process.stderr.write("inlay: internal error (a bug; please report it): the command stopped before finishing, waiting for work that can never complete\n");
  process.exitCode = 70;
});

process.exitCode = await runCli(process.argv.slice(2));
finished = true;
