/**
 * A realistic, dynamically linked Debian-style root filesystem for end-to-end tests, assembled
 * from this host's own files (no network): bash, dash as /bin/sh, coreutils, findutils, grep, sed,
 * python3 (with the part of its standard library that `subprocess` needs), perl, dpkg and apt-get,
 * each with the shared libraries `ldd` names and the glibc loader; a merged /usr (`/bin ->
 * usr/bin`, `/lib64 -> usr/lib64`, …) as on Debian 12; `/usr/bin/python3 -> python3.11`;
 * /etc/passwd with root, `app` (1000) and nobody; and two scripts shipped in the image
 * (`#!/usr/bin/env python3` and `#!/bin/sh`). The busybox images of the other suites have one
 * static binary, no loader, no shared libraries and no interpreters: this one exercises what a
 * real image does at every exec.
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { FileSpec } from "./oci-image.js";

/** The host's Python (Debian's, never a pyenv or venv one found first on PATH). */
export const HOST_PYTHON = "/usr/bin/python3.11";

/** Programs copied from the host, by the name looked up in /usr/bin or /usr/sbin. */
const PROGRAMS = [
  "bash", "dash", "ls", "cat", "cp", "id", "env", "nice", "timeout", "find", "xargs", "true", "echo",
  "sort", "wc", "head", "tr", "grep", "sed", "uname", "chmod", "sleep", "readlink", "mkdir", "printf",
  "python3.11", "perl", "dpkg", "apt-get", "ldd",
];

/** What the image needs from the host; the first missing one is the reason to skip. */
export function debianRootfsMissing(): string | undefined {
  if (!existsSync("/usr/bin/ldd")) return "ldd is not installed";
  if (!existsSync("/lib64/ld-linux-x86-64.so.2")) return "no x86_64 glibc loader on this host";
  if (!existsSync(HOST_PYTHON)) return `${HOST_PYTHON} is not installed (Debian's python3)`;
  for (const p of PROGRAMS) if (!hostProgram(p)) return `${p} is not installed on this host`;
  return undefined;
}

function hostProgram(name: string): string | undefined {
  for (const d of ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]) if (existsSync(join(d, name))) return join(d, name);
  return undefined;
}

/**
 * The path a host file gets in the image: its directory resolved (the host may have /lib or
 * /usr/lib, merged or not), the name kept as written (a library's SONAME link such as
 * libfoo.so.1 must keep that name; its content is the file it points to).
 */
function imagePath(hostPath: string): string {
  return join(realpathSync(dirname(hostPath)), basename(hostPath)).replace(/^\//, "");
}

/** The shared libraries and loader `ldd` names for a host ELF. */
function sharedLibraries(hostPath: string): string[] {
  let out: string;
  try {
    out = execFileSync("ldd", [hostPath], { encoding: "utf8" });
  } catch {
    return []; // "not a dynamic executable"
  }
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/** The files of Python's standard library that starting it and running `subprocess` load. */
function pythonStdlib(): string[] {
  const out = execFileSync(
    HOST_PYTHON,
    ["-I", "-c", "import subprocess, shutil, os, sys; print('\\n'.join(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)})))"],
    { encoding: "utf8" },
  );
  const files = out.split("\n").filter((f) => f.startsWith("/usr/lib/python3") && !f.includes("-packages/"));
  // encodings imports its codecs lazily by name; ship the whole package.
  const enc = join(dirname(files.find((f) => f.endsWith("/encodings/__init__.py"))!), "");
  const encFiles = execFileSync("find", [enc, "-name", "*.py"], { encoding: "utf8" }).split("\n").filter(Boolean);
  return [...new Set([...files, ...encFiles])];
}

const HELLO_PY = `#!/usr/bin/env python3
import subprocess
out = subprocess.run(["uname", "-s"], capture_output=True, text=True).stdout.strip()
print("hello.py", out)
`;
const HELLO_SH = `#!/bin/sh
echo "hello.sh $(id -un) $(ls /usr/local/bin | wc -l)"
`;
/** The image's default command: a pipeline, both shipped scripts, a Python and a Perl child. */
const START_SH = `#!/bin/bash
set -e
echo "start: $(ls /usr/bin | sort | head -n 3 | tr '\\n' ' ')"
/usr/local/bin/hello.sh
/usr/local/bin/hello.py
perl -e 'system("id", "-u") == 0 or exit 1'
echo "start done"
`;

/** The root filesystem as one layer (see the module comment). */
export function debianRootfsFiles(): FileSpec[] {
  const files = new Map<string, FileSpec>();
  const dir = (path: string, mode = 0o755): void => {
    const parts = path.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join("/") + "/";
      if (!files.has(p)) files.set(p, { path: p, type: "directory", mode: i === parts.length ? mode : 0o755 });
    }
  };
  const file = (path: string, data: Buffer | string, mode: number): void => {
    dir(dirname(path));
    files.set(path, { path, data, mode });
  };
  const hostFile = (hostPath: string): void => {
    const dest = imagePath(hostPath);
    if (!files.has(dest)) file(dest, readFileSync(hostPath), statSync(hostPath).mode & 0o7777);
  };
  // Merged /usr, as Debian 12 ships it.
  for (const d of ["usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "usr/local/bin", "etc", "app", "root"]) dir(d);
  dir("tmp", 0o1777);
  for (const [l, t] of [["bin", "usr/bin"], ["sbin", "usr/sbin"], ["lib", "usr/lib"], ["lib64", "usr/lib64"]] as const)
    files.set(l, { path: l, type: "symlink", linkname: t });
  for (const name of PROGRAMS) {
    const p = hostProgram(name)!;
    hostFile(realpathSync(p)); // the binary itself, under its real name
    for (const lib of sharedLibraries(p)) hostFile(lib);
  }
  for (const f of pythonStdlib()) hostFile(f);
  const link = (path: string, target: string): void => void files.set(path, { path, type: "symlink", linkname: target });
  link("usr/bin/sh", "dash");
  link("usr/bin/python3", "python3.11");
  link("usr/bin/perl5.36.0", "perl");
  file("usr/local/bin/hello.py", HELLO_PY, 0o755);
  file("usr/local/bin/hello.sh", HELLO_SH, 0o755);
  file("usr/local/bin/start.sh", START_SH, 0o755);
  file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000:app:/app:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", 0o644);
  file("etc/group", "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n", 0o644);
  file("etc/debian_version", "12.0\n", 0o644);
  // Parents before children, as a tar from a real tree lists them.
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
