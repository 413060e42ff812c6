/**
 * Makes a development TLS certificate with the openssl command line: a self-signed P-256
 * certificate for localhost and the loopback addresses (plus any names given), valid 30 days.
 * The enforcer pins it as its CA, so it doubles as the trust anchor in tests.
 * @module
 */
import { execFile } from "node:child_process";
import { chmod, rename, rm } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeDirs } from "../files/make-dirs.js";

const run = promisify(execFile);

/**
 * Writes `console-dev.crt` and `console-dev.key` (mode 0600) into `dir`, atomically.
 * @returns the two paths
 * @throws Error "Cannot make a development certificate: …" when openssl is missing or fails
 */
export async function makeDevCertificate(dir: string, options: { names?: string[]; days?: number } = {}): Promise<{ certFile: string; keyFile: string }> {
  const names = ["localhost", "127.0.0.1", "::1", ...(options.names ?? [])];
  for (const n of names) {
    if (!/^[A-Za-z0-9.*:-]{1,253}$/.test(n)) throw new RangeError(`Cannot make a development certificate for ${JSON.stringify(n)}: not a host name or IP address`);
  }
  const san = names.map((n) => (isIP(n) !== 0 ? `IP:${n}` : `DNS:${n}`)).join(",");
  await makeDirs(dir);
  const certFile = join(dir, "console-dev.crt");
  const keyFile = join(dir, "console-dev.key");
  const tmpCert = `${certFile}.tmp-${process.pid}`;
  const tmpKey = `${keyFile}.tmp-${process.pid}`;
  try {
    await run("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-days", String(options.days ?? 30), "-subj", "/CN=inlay-console-dev",
      "-addext", `subjectAltName=${san}`, "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,digitalSignature,keyCertSign", "-addext", "extendedKeyUsage=serverAuth",
      "-keyout", tmpKey, "-out", tmpCert,
    ]);
    await chmod(tmpKey, 0o600);
    await rename(tmpKey, keyFile);
    await rename(tmpCert, certFile);
  } catch (err) {
    await rm(tmpCert, { force: true });
    await rm(tmpKey, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === "ENOENT" ? "the openssl command is not installed (apt-get install openssl)" : (e.stderr?.trim() || e.message);
    throw new Error(`Cannot make a development certificate in ${dir}: ${why}`, { cause: err });
  }
  return { certFile, keyFile };
}
