import { readFileSync } from "node:fs";

/** The product version, from package.json (the enforcer's Makefile reads the same field). */
export const INLAY_VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
