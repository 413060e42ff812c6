/**
 * What a bundle says, as a typed value: the input of the bundle writer (`write-bundle.ts`) and
 * the output of the policy compiler. docs/bundle-format.md defines the bytes it becomes.
 * @module
 */

/** Mode of one control. */
export type ControlMode = "off" | "audit" | "enforce";

/** Controls of bundle format 1; later issues add more (each with its directive and vectors). */
export type ControlName = "drift" | "fileless" | "loader" | "blocklist" | "allowlist";

/** One executable of the image, as recorded by the scanner. */
export interface ManifestEntry {
  /** Lower-case hex SHA-256 of the file's content. */
  sha256: string;
  /** Absolute path inside the image. */
  path: string;
}

/** Executables matched by name, path glob or content hash. */
export interface ExecutableList {
  names: string[];
  pathGlobs: string[];
  sha256: string[];
}

/**
 * The console link (docs/bundle-format.md, "Console link"). What belongs in an image: the
 * console URL and its CA. The enrolment token is better given by the task definition
 * (`INLAY_ENROL_TOKEN`, e.g. from a secret store), which overrides `enrolToken`.
 */
export interface ConsoleLink {
  /** `https://host[:port][/path]`, or `http://` to loopback (or anywhere with `plainHttp`). */
  url: string;
  /** The pinned CA: PEM text (`-----BEGIN CERTIFICATE-----...`) or an absolute path in the image. */
  ca?: string;
  /** The enforcer group's enrolment token (`inlay_enr_...`). */
  enrolToken?: string;
  /** Allows `http://` to a host that is not loopback: events and tokens travel in clear. */
  plainHttp?: boolean;
  /** Hold the workload until the console answered, at most `seconds`; then start it (open) or refuse (closed). */
  waitForPolicy?: { seconds: number; failMode: "open" | "closed" };
}

export interface BundleSpec {
  failMode: "closed" | "open";
  activation: "always" | "serverless";
  dormancy: {
    /** `NAME` (set and non-empty) or `NAME=VALUE`. */
    env: string[];
    /** Absolute paths whose existence means a host enforcer is present. */
    paths: string[];
  };
  controls: Record<ControlName, ControlMode>;
  /** Controls in `audit` mode that switch to `enforce` at this time (seconds since 1970, UTC). */
  enforceAfter: Partial<Record<ControlName, number>>;
  driftSource: "manifest" | "ctime";
  reportExecs: boolean;
  blockList: ExecutableList;
  allowList: ExecutableList;
  manifest: ManifestEntry[];
  /** Absent: the enforcer reports to its event sink only. */
  console?: ConsoleLink;
}
