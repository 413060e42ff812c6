/**
 * The README's main job: a local demo of Inlay end to end on embedded defaults.
 *
 * 1. start a real registry on loopback; 2. build a small image from scratch (static busybox) and
 * push it; 3. `inlay embed` it registry → registry with the default policy; 4. run the embedded
 * image with podman (runc): the original command runs, a binary dropped at run time is blocked,
 * and the enforcer's event is printed; 5. the same attack on the original image succeeds
 * (the negative control that proves the enforcer did it).
 * @module
 */
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { extractEvents } from "../events/event-schema.js";
import { startPodman } from "../../test/helpers/podman.js";
import { startRegistry } from "../../test/helpers/registry.js";
import { makeTempDir } from "../../test/helpers/temp-dir.js";

const execFileP = promisify(execFile);
const root = resolve(import.meta.dirname, "../../..");
const cli = join(root, "dist/src/cli/main.js");

const say = (s: string): void => void process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);
const show = (s: string): void => void process.stdout.write(s.replace(/^/gm, "   ") + "\n");

async function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { maxBuffer: 64 << 20, ...opts });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`Cannot run ${cmd} ${args.join(" ")}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

/** Builds a one-layer busybox image in an OCI layout with umoci and pushes it with skopeo. */
async function buildBaseImage(work: string, ref: string): Promise<void> {
  const layout = join(work, "layout");
  const bundleDir = join(work, "unpacked");
  await run("umoci", ["init", "--layout", layout]);
  await run("umoci", ["new", "--image", `${layout}:app`]);
  await run("umoci", ["unpack", "--rootless", "--image", `${layout}:app`, bundleDir]);
  const rootfs = join(bundleDir, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await mkdir(join(rootfs, "tmp"), { recursive: true, mode: 0o1777 });
  await chmod(join(rootfs, "tmp"), 0o1777);
  await copyFile("/bin/busybox", join(rootfs, "bin/busybox"));
  await chmod(join(rootfs, "bin/busybox"), 0o755);
  for (const applet of ["sh", "cp", "echo", "cat", "ls"]) await symlink("busybox", join(rootfs, "bin", applet));
  await run("umoci", ["repack", "--image", `${layout}:app`, bundleDir]);
  await run("umoci", ["config", "--image", `${layout}:app`, "--config.cmd", "/bin/sh", "--config.env", "PATH=/bin", "--os", "linux", "--architecture", "amd64"]);
  await run("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:app`, `docker://${ref}`]);
}

// The "attacker" drops a binary that was not in the image: a busybox with one extra byte, so
// its content is new (an identical copy of an image file is not drift by content).
const attack =
  'echo "app: started as usual"; cp /bin/busybox /tmp/busybox && echo >> /tmp/busybox && ' +
  '/tmp/busybox echo "attacker: dropped binary ran"; echo "app: exit code of the attack was $?"';

async function main(): Promise<void> {
  const work = await makeTempDir("inlay-demo-");
  const registry = await startRegistry();
  const podman = await startPodman({ insecureRegistries: [registry.host] });
  try {
    say(`Registry on ${registry.url} (Debian's docker-registry)`);
    const base = `${registry.host}/demo/app:1`;
    const embedded = `${registry.host}/demo/app:1-inlay`;
    say(`Building ${base} from scratch (static busybox) and pushing it`);
    await buildBaseImage(work.path, base);

    say(`inlay embed docker://${base} docker://${embedded}`);
    const result = await run("node", [cli, "embed", `docker://${base}`, `docker://${embedded}`, "--json"]);
    show(result.trim());

    say("Running the embedded image with podman (runc); the workload drops a new binary in /tmp and runs it");
    await podman.ok(["pull", "-q", embedded]);
    await podman.ok(["pull", "-q", base]);
    const r = await podman.run(["run", "--rm", "--network=none", embedded, "sh", "-c", attack]);
    const { events, other } = extractEvents(`${r.stdout}\n${r.stderr}`);
    show(other.join("\n"));
    const denied = events.filter((e) => e.action === "deny");
    say(`Enforcer events (${events.length}), the denial in full:`);
    for (const e of events) show(`${e.kind.padEnd(16)} ${e.action.padEnd(5)} ${e.rule} ${e.process?.exe ?? ""}`);
    if (denied[0]) show(JSON.stringify(denied[0], null, 2));

    say("Negative control: the same attack on the original image, without Inlay");
    const n = await podman.run(["run", "--rm", "--network=none", base, "sh", "-c", attack]);
    show(`${n.stdout}${n.stderr}`.trim());

    const blocked = denied.some((e) => e.kind === "exec.drift") && !r.stdout.includes("attacker: dropped binary ran");
    const ranWithout = n.stdout.includes("attacker: dropped binary ran");
    say(blocked && ranWithout ? "Result: drift blocked by Inlay; the same attack succeeds without it" : "Result: UNEXPECTED (see above)");
    if (!(blocked && ranWithout)) process.exitCode = 1;
  } finally {
    await podman.dispose();
    await registry.dispose();
    await work.dispose();
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`\ninlay demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
