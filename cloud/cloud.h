/*
 * What the rest of godwit asks of Alibaba Cloud (PRODUCT.md section 5).
 * Credentials come from the environment; an endpoint with rds.accountId and
 * rds.roleName is reached through STS AssumeRole into that account.
 */
#ifndef GODWIT_CLOUD_H
#define GODWIT_CLOUD_H

#include "lib/common.h"
#include "lib/err.h"
#include "spec/spec.h"

#include <stdint.h>

/* Host and port of an rds endpoint (DescribeDBInstanceNetInfo). *host_out
 * is owned by the caller. */
int cloud_endpoint_resolve(char **host_out, unsigned *port_out, const struct endpoint *ep,
			   const char *task, struct gw_err *err);

/* Adds (add != 0) or removes the cidrs in the whitelist group "godwit" of
 * the endpoint's instance; touches no other group. Idempotent. */
int cloud_whitelist_apply(const struct endpoint *ep, char *const *cidrs, size_t ncidrs, int add,
			  const char *task, struct gw_err *err);

struct cloud_instance_info {
	char engine[32];	 /* "MySQL", "MariaDB" */
	char engine_version[32]; /* "8.0" */
	uint64_t storage_total;	 /* bytes */
	uint64_t storage_used;	 /* bytes */
};

int cloud_instance_info(struct cloud_instance_info *out, const struct endpoint *ep,
			const char *task, struct gw_err *err);

#endif
