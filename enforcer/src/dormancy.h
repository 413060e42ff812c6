/* Dormancy: when the enforcer steps aside and executes the workload directly. */
#ifndef INLAY_DORMANCY_H
#define INLAY_DORMANCY_H

#include <stddef.h>

struct bundle;

/* Returns 1 and writes what matched into signal (e.g. "env:INLAY_HOST_ENFORCER",
 * "path:/run/inlay-host.sock", "activation:serverless") when the enforcer must stay dormant:
 * a dormant-env or dormant-path signal is present, or the bundle says `activation serverless`
 * and no serverless platform is recognised. Otherwise returns 0. */
int dormancy_check(const struct bundle *b, char *signal, size_t cap);

/* The serverless platform the environment shows ("ecs-fargate", "eks-fargate", "aci",
 * "cloud-run"), or NULL. The rules are in docs/enforcer.md. */
const char *dormancy_platform(void);

#endif
