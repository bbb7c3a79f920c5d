/*
 * ApsaraDB RDS OpenAPI (Version 2014-08-15) on one instance, with the
 * credentials sts.c gives for the endpoint. Implements cloud/cloud.h.
 *
 * The whitelist functions are split from the calls so that the set
 * arithmetic is unit-tested: rds_whitelist_plan() says what to write.
 */
#ifndef GODWIT_CLOUD_RDS_H
#define GODWIT_CLOUD_RDS_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"

enum rds_wl_op { RDS_WL_NONE, RDS_WL_COVER, RDS_WL_APPEND, RDS_WL_DELETE };

/* From the group's current list ("a,b", NULL when the group does not exist)
 * and the cidrs, what ModifySecurityIps must do: nothing (the group
 * already says so), Append of the missing entries (add; Cover when the
 * group does not exist yet), or Delete of our entries as the group spells
 * them (remove). Neither Append nor Delete rewrites what others put in the
 * group meanwhile. The list to send goes into *out. "a.b.c.d/32" and "a.b.c.d" are the same entry.
 */
int rds_whitelist_plan(enum rds_wl_op *op, struct buf *out, const char *current, char *const *cidrs,
		       size_t ncidrs, int add) WARN_UNUSED;

/* The host prefix of the RDS endpoint for region: "rds" (rds.aliyuncs.com)
 * for the regions it serves, "rds.<region>" for the others, as Alibaba's
 * SDKs resolve it. GW_EFATAL for a region that is no host name part. */
int rds_endpoint_prefix(char *out, size_t size, const char *region) WARN_UNUSED;

#endif
