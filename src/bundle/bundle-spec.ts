/**
 * What a bundle says, as a typed value: the input of the bundle writer (`write-bundle.ts`) and
 * the output of the policy compiler. docs/bundle-format.md defines the bytes it becomes.
 * @module
 */

/** Mode of one control. */
export type ControlMode = "off" | "audit" | "enforce";

/** Exec controls of bundle format 1: always written. */
export type ControlName = "drift" | "fileless" | "loader" | "blocklist" | "allowlist";

/** Runtime controls: optional in a spec (absent = off, and nothing is written for them). */
export type RuntimeControlName = "network" | "files" | "reverse-shell" | "privilege";

/**
 * One outbound connect rule. `block` wins over `audit` (an alert, never blocked), `audit` over
 * `allow`, whatever their order.
 */
export interface NetConnectRule {
  action: "allow" | "audit" | "block";
  /** `A.B.C.D/N` or `IPV6/N`, host bits zero. An IPv4 rule also matches IPv4-mapped IPv6 peers. */
  cidr: string;
  /** `*`, `PORT` or `LOW-HIGH` (1..65535). */
  ports: string;
  /** Limits the rule to stream (`tcp`) or datagram (`udp`) sockets; absent: both. */
  protocol?: NetProtocol;
}

/** A socket protocol a network rule can be limited to. */
export type NetProtocol = "tcp" | "udp";

/** A listen port limited to one protocol (a plain string entry of `listen` allows both). */
export interface NetListenRule {
  /** `*`, `PORT` or `LOW-HIGH`. */
  ports: string;
  protocol: NetProtocol;
}

/** Network control lists (directives `net-default`, `net-connect`, `net-listen`). */
export interface NetworkSpec {
  connect: NetConnectRule[];
  /** Connects matched by no rule: `allow` silently, `audit` (alert, never blocked) or `block` (per the control's mode). */
  default: "allow" | "audit" | "block";
  /** Binds/listens on ports not in `listen`: `allow` (not checked), `audit` (alert) or `block` (per the control's mode). */
  listenDefault: "allow" | "audit" | "block";
  /** Ports (`*`, `PORT`, `LOW-HIGH`) a socket may bind to and listen on; an object limits one to a protocol. */
  listen: Array<string | NetListenRule>;
}

/** File control lists (directives `file-readonly`, `file-audit`): absolute path prefixes. */
export interface FilesSpec {
  readOnly: string[];
  audited: string[];
}

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
  controls: Record<ControlName, ControlMode> & Partial<Record<RuntimeControlName, ControlMode>>;
  /** Controls in `audit` mode that switch to `enforce` at this time (seconds since 1970, UTC). */
  enforceAfter: Partial<Record<ControlName | RuntimeControlName, number>>;
  driftSource: "manifest" | "ctime";
  /**
   * Path-strict drift (`drift-path-strict on`): image content counts as the image's only at one of
   * its manifest paths, so an identical copy elsewhere is drift. Needs `driftSource: "manifest"`.
   * Absent or false: nothing is written (content-only drift).
   */
  driftPathStrict?: boolean;
  reportExecs: boolean;
  /** Block-list entries in the control's mode (`controls.blocklist`): no mode token. */
  blockList: ExecutableList;
  /**
   * Block-list entries that only alert (written with the `audit` mode token): a match is reported
   * and the exec runs, even when `controls.blocklist` is `enforce`; nothing when it is `off`. An
   * entry also in `blockList` is written once, without the token (the stronger mode wins).
   * Absent or empty: nothing is written, so a spec without it keeps its bytes and bundle id.
   */
  blockListAudit?: ExecutableList;
  allowList: ExecutableList;
  manifest: ManifestEntry[];
  /** Absent: the enforcer reports to its event sink only. */
  console?: ConsoleLink;
  /** Runtime control lists; each is optional and written only when present. */
  network?: NetworkSpec;
  files?: FilesSpec;
  /** Basenames that count as shells or interpreters for the reverse-shell control. */
  shellNames?: string[];
}
