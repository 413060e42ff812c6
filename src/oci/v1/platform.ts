/** An image platform, as in an index entry's `platform` and an image config. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== "").join("/");
}

/**
 * Parses `os/arch[/variant]` as given on a command line.
 * @throws TypeError when the string does not have two or three non-empty parts
 */
export function parsePlatform(s: string): Platform {
  const parts = s.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new TypeError(`Cannot parse platform ${JSON.stringify(s)}: expected os/arch[/variant], e.g. linux/arm64`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** Default variants, so `linux/arm64` matches `linux/arm64/v8` as the OCI spec suggests. */
function normVariant(p: Platform): string {
  if (p.variant) return p.variant;
  if (p.architecture === "arm64") return "v8";
  return "";
}

/** True when `candidate` satisfies `wanted` (os and architecture equal; variant equal when wanted names one). */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  return wanted.variant === undefined || normVariant(candidate) === normVariant(wanted);
}
