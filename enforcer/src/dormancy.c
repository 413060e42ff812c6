/* Recognising dormancy signals and serverless platforms from the environment (docs/enforcer.md,
 * "Dormancy"). The environment is the one the workload will get; nothing here touches the
 * network: a metadata endpoint could be faked by the workload anyway. */
#include "dormancy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"

static int nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && v[0] != '\0';
}

const char *dormancy_platform(void)
{
	/* ECS sets AWS_EXECUTION_ENV to AWS_ECS_FARGATE or AWS_ECS_EC2. The metadata URI alone does
	 * not tell the launch type, so the variable is authoritative. */
	const char *exec_env = getenv("AWS_EXECUTION_ENV");
	if (exec_env && strcmp(exec_env, "AWS_ECS_FARGATE") == 0)
		return "ecs-fargate";
	/* EKS Fargate: a pod (KUBERNETES_SERVICE_HOST) on a node named fargate-*; the node name
	 * comes from the downward API (env INLAY_NODE_NAME: fieldRef spec.nodeName). */
	const char *node = getenv("INLAY_NODE_NAME");
	if (nonempty("KUBERNETES_SERVICE_HOST") && node && strncmp(node, "fargate-", 8) == 0)
		return "eks-fargate";
	/* Container instances run on a Service Fabric based platform that sets these for every
	 * container. */
	if (nonempty("Fabric_ApplicationName") && nonempty("Fabric_CodePackageName"))
		return "aci";
	/* Cloud Run services set all three; jobs set CLOUD_RUN_JOB and CLOUD_RUN_EXECUTION. */
	if (nonempty("K_SERVICE") && nonempty("K_REVISION") && nonempty("K_CONFIGURATION"))
		return "cloud-run";
	if (nonempty("CLOUD_RUN_JOB") && nonempty("CLOUD_RUN_EXECUTION"))
		return "cloud-run";
	return NULL;
}

static int env_matches(const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (!eq)
		return nonempty(spec);
	char name[256];
	size_t n = (size_t)(eq - spec);
	if (n == 0 || n >= sizeof name)
		return 0;
	memcpy(name, spec, n);
	name[n] = '\0';
	const char *v = getenv(name);
	return v && strcmp(v, eq + 1) == 0;
}

int dormancy_check(const struct bundle *b, char *signal, size_t cap)
{
	for (size_t i = 0; i < b->n_dormant_env; i++) {
		if (env_matches(b->dormant_env[i])) {
			snprintf(signal, cap, "env:%s", b->dormant_env[i]);
			return 1;
		}
	}
	for (size_t i = 0; i < b->n_dormant_path; i++) {
		struct stat st;
		/* lstat: a socket, a directory, a file or even a dangling link counts as present */
		if (lstat(b->dormant_path[i], &st) == 0) {
			snprintf(signal, cap, "path:%s", b->dormant_path[i]);
			return 1;
		}
	}
	if (b->serverless_only && dormancy_platform() == NULL) {
		snprintf(signal, cap, "activation:serverless");
		return 1;
	}
	return 0;
}
