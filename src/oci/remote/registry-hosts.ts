/**
 * What the client knows about particular registries, for advice in error messages: Amazon ECR's
 * private registry hosts (`<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]` and the
 * isolated-partition suffixes) and Docker Hub. Nothing here changes how requests are made.
 * @module
 */
import { isDockerHub } from "./reference.js";

/** The parts of an ECR private registry host. */
export interface EcrHost {
  account: string;
  region: string;
  fips: boolean;
  dnsSuffix: string;
}

// The host forms ECR's credential helper recognises (12-digit account, optional -fips, region, partition suffix).
const ECR_RE = /^(\d{12})\.dkr\.ecr(-fips)?\.([a-z0-9][a-z0-9-_]*)\.(amazonaws\.com(?:\.cn)?|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;

/** The account, region and partition of an ECR private registry host, or undefined for any other host. */
export function parseEcrHost(registry: string): EcrHost | undefined {
  const m = ECR_RE.exec(registry.toLowerCase());
  if (!m) return undefined;
  return { account: m[1]!, region: m[3]!, fips: m[2] !== undefined, dnsSuffix: m[4]! };
}

/** A sentence to append when a repository was not found on `registry` (empty when there is nothing specific to say). */
export function notFoundAdvice(registry: string, repository: string): string {
  const ecr = parseEcrHost(registry);
  if (ecr) {
    return `; ECR does not create repositories on push: create it first (aws ecr create-repository --repository-name ${repository} --region ${ecr.region})`;
  }
  return "";
}

/** How to get credentials for `registry`, for authentication errors. */
export function authAdvice(registry: string): string {
  const ecr = parseEcrHost(registry);
  if (ecr) {
    return (
      `ECR tokens expire after 12 hours, and ECR refuses both an expired token and a missing IAM permission: ` +
      `set "credHelpers": {"${registry}": "ecr-login"} in the docker config (docker-credential-ecr-login on PATH), or log in again with ` +
      `\`aws ecr get-login-password --region ${ecr.region} | docker login --username AWS --password-stdin ${registry}\`, and check the IAM policy of the caller`
    );
  }
  if (isDockerHub(registry)) {
    return "log in with `docker login`/`podman login docker.io` (stored under https://index.docker.io/v1/) or set REGISTRY_AUTH_FILE/DOCKER_CONFIG";
  }
  return "log in with `podman login`/`docker login` or set REGISTRY_AUTH_FILE/DOCKER_CONFIG";
}
