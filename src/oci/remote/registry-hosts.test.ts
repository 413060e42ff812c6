import { test } from "node:test";
import assert from "node:assert/strict";
import { authAdvice, notFoundAdvice, parseEcrHost } from "./registry-hosts.js";

test("parseEcrHost recognises ECR private hosts (commercial, China, FIPS, isolated partitions) and nothing else", () => {
  assert.deepEqual(parseEcrHost("123456789012.dkr.ecr.eu-west-1.amazonaws.com"), { account: "123456789012", region: "eu-west-1", fips: false, dnsSuffix: "amazonaws.com" });
  assert.deepEqual(parseEcrHost("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"), { account: "123456789012", region: "cn-north-1", fips: false, dnsSuffix: "amazonaws.com.cn" });
  assert.deepEqual(parseEcrHost("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"), { account: "123456789012", region: "us-gov-west-1", fips: true, dnsSuffix: "amazonaws.com" });
  assert.equal(parseEcrHost("123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov")?.dnsSuffix, "c2s.ic.gov");
  assert.equal(parseEcrHost("123456789012.DKR.ECR.eu-west-1.amazonaws.com")?.region, "eu-west-1");
  for (const h of ["12345678901.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com:443", "123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example", "public.ecr.aws", "docker.io", "x.dkr.ecr.eu-west-1.amazonaws.com"]) {
    assert.equal(parseEcrHost(h), undefined, h);
  }
});

test("advice names the repository and region for ECR, the v1 key for Docker Hub, and stays generic elsewhere", () => {
  assert.match(notFoundAdvice("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "team/app"), /aws ecr create-repository --repository-name team\/app --region eu-west-1/);
  assert.equal(notFoundAdvice("registry.example", "team/app"), "");
  assert.match(authAdvice("123456789012.dkr.ecr.eu-west-1.amazonaws.com"), /"credHelpers": \{"123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com": "ecr-login"\}.*get-login-password --region eu-west-1/);
  assert.match(authAdvice("docker.io"), /https:\/\/index\.docker\.io\/v1\//);
  assert.match(authAdvice("registry.example"), /REGISTRY_AUTH_FILE/);
});
