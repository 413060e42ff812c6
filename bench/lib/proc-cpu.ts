import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux builds; `getconf CLK_TCK`). */
const TICKS_PER_SECOND = 100;

/** User + system CPU time in ms of a process or thread, from its `/proc/.../stat` file. */
export function procCpuMs(statPath: string): number {
  const line = readFileSync(statPath, "utf8");
  // The fields after the command name (which may hold spaces and parentheses): utime is field 14, stime 15.
  const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}
