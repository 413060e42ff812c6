/**
 * The policy used when none is given, as a commented document (`inlay policy default`). It says
 * explicitly what {@link resolvePolicy} fills in for an empty `spec`, and the printed file
 * compiles as it is.
 * @module
 */
import { parsePolicy, type LoadedPolicy } from "./load-policy.js";

export const DEFAULT_POLICY_YAML = `# The default inlay runtime policy: used when no policy is given.
# Drift is enforced, fileless and loader execution are blocked, reverse shells and miners are
# blocked, everything else is audited. See docs/policy.md for every field.
apiVersion: inlay.dev/v1
kind: RuntimePolicy
metadata:
  name: default
  description: Drift enforced, fileless and loader blocked, miners and reverse shells blocked, the rest audited
spec:
  failMode: closed            # refuse to start the workload when protection is unavailable
  activation:
    mode: always              # or serverless: stay dormant outside Fargate, ACI and Cloud Run
    dormantWhen:              # a host enforcer is present: get out of its way
      env: [INLAY_HOST_ENFORCER]
      paths: [/run/inlay-host.sock]
  reportExecs: false          # true: report every allowed exec (input for inlay policy suggest)
  executables:
    drift:
      mode: enforce           # only executables whose content was in the image may run
      source: manifest
      pathStrict: false       # true: a copy of an image executable under another path is drift too
    fileless:
      mode: enforce           # no exec from memfd or deleted files
    loader:
      mode: enforce           # no direct exec of the dynamic loader (ld.so /tmp/x)
    allow:
      mode: "off"             # no allow list: drift and the block list decide
    block:
      mode: audit             # report the names, paths and hashes listed here
      names: []
      paths: []
      sha256: []
  miners:
    mode: enforce             # known miner executables (src/policy/data/miners.json) are blocked
    shippedList: true
    stratum:
      mode: enforce           # connections to mining-pool (stratum) ports are blocked
  packageManagers:
    mode: audit               # apt, dpkg, apk, yum, dnf, rpm, pip, npm... are reported (enforce: blocked)
  reverseShell:
    mode: enforce             # a shell or interpreter started with a network socket as stdin/out/err is killed
  network:
    outbound: {mode: audit, default: audit}   # every outbound connection is reported
    listen: {mode: audit, default: audit}     # listening on any port is reported
  files:
    readOnly: {mode: audit, paths: []}
    audited: {mode: audit, paths: [/etc/passwd, /etc/shadow, /etc/group, /etc/sudoers, /etc/sudoers.d/*, /root/.ssh/*]}
  privilege:
    mode: audit               # setuid/setgid executables and setuid/setgid/capset calls are reported
`;

/** The default policy, parsed. */
export function defaultPolicy(): LoadedPolicy {
  return parsePolicy(DEFAULT_POLICY_YAML, { file: "(default policy)" });
}
