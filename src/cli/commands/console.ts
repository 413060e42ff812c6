/**
 * `inlay console`: runs the console server; `inlay console dev-cert` makes a development
 * certificate for it.
 * @module
 */
import type { Command } from "commander";
import pino from "pino";
import { CliError } from "../cli-error.js";
import { makeDevCertificate } from "../../console/dev-cert.js";
import { parseListen, startConsole } from "../../console/server.js";
import { redactDatabaseUrl } from "../../console/db/open-database.js";

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer, not ${v}`, 2);
    return n;
  };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** Registers `console` and `console dev-cert`. */
export function register(program: Command): void {
  const cmd = program
    .command("console")
    .description("Run the console: inventory, events, policies and enforcer enrolment")
    .option("--database <location>", "SQLite file or postgres:// URL (env INLAY_CONSOLE_DATABASE)", process.env.INLAY_CONSOLE_DATABASE ?? "inlay-console.sqlite")
    .option("--listen <host:port>", "address to listen on", "127.0.0.1:8443")
    .option("--tls-cert <file>", "PEM certificate (chain) for HTTPS")
    .option("--tls-key <file>", "PEM private key for HTTPS")
    .option("--insecure-http", "allow plain HTTP on a non-loopback address (credentials travel in clear)", false)
    .option("--heartbeat-seconds <n>", "heartbeat interval asked of enforcers", positiveInt("heartbeat-seconds"), 30)
    .option("--stale-after <n>", "missed heartbeats before a workload is stale", positiveInt("stale-after"), 3)
    .action(async (opts: { database: string; listen: string; tlsCert?: string; tlsKey?: string; insecureHttp: boolean; heartbeatSeconds: number; staleAfter: number }) => {
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new CliError("--tls-cert and --tls-key go together; give both or neither", 2);
      let host: string;
      try {
        host = parseListen(opts.listen).host;
      } catch (err) {
        throw new CliError((err as Error).message, 2, { cause: err });
      }
      if (opts.tlsCert === undefined && !isLoopback(host) && !opts.insecureHttp) {
        throw new CliError(`Refusing plain HTTP on ${opts.listen}: enforcer credentials would travel in clear; give --tls-cert/--tls-key (inlay console dev-cert makes a test pair) or --insecure-http`, 2);
      }
      const logger = pino({ name: "inlay-console" }, pino.destination(2));
      let running;
      try {
        running = await startConsole({
          database: opts.database,
          listen: opts.listen,
          tls: opts.tlsCert === undefined ? undefined : { certFile: opts.tlsCert, keyFile: opts.tlsKey! },
          bootstrapSecret: process.env.INLAY_CONSOLE_BOOTSTRAP_TOKEN,
          settings: { heartbeatSeconds: opts.heartbeatSeconds, staleAfterMissed: opts.staleAfter },
          logger,
        });
      } catch (err) {
        throw new CliError((err as Error).message, 1, { cause: err });
      }
      // One write, so whoever watches for the listening line also has the bootstrap lines.
      let banner = `inlay console listening on ${running.url} (database ${redactDatabaseUrl(running.database.location)})\n`;
      if (running.bootstrapSecret !== null) {
        banner +=
          `first run: create the administrator with\n` +
          `  POST ${running.url}/api/v1/bootstrap {"secret":"${running.bootstrapSecret}","username":"admin","password":"…"}\n` +
          `this secret is shown once; to replace it, restart with INLAY_CONSOLE_BOOTSTRAP_TOKEN set\n`;
      } else if (running.bootstrapPending) {
        banner += "first run: no administrator yet; use the bootstrap secret printed earlier or set INLAY_CONSOLE_BOOTSTRAP_TOKEN\n";
      }
      process.stdout.write(banner);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await running.close();
    });
  cmd
    .command("dev-cert")
    .description("Make a self-signed development certificate (localhost, 127.0.0.1, ::1 and --name)")
    .option("--out-dir <dir>", "where to write console-dev.crt and console-dev.key", ".")
    .option("--name <host...>", "extra DNS names or IP addresses")
    .action(async (opts: { outDir: string; name?: string[] }) => {
      try {
        const r = await makeDevCertificate(opts.outDir, { names: opts.name });
        process.stdout.write(`wrote ${r.certFile} and ${r.keyFile}\nstart: inlay console --tls-cert ${r.certFile} --tls-key ${r.keyFile}\n`);
      } catch (err) {
        throw new CliError((err as Error).message, 1, { cause: err });
      }
    });
}
