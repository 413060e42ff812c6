#!/usr/bin/env node
/**
 * The `inlay` command line. Only this file calls process.exit: commands throw, and
 * {@link runCli} translates errors into one message and a documented exit code.
 * @module
 */
import { runCli } from "./run-cli.js";

process.exitCode = await runCli(process.argv.slice(2));
