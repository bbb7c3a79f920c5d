/* NEEDSWORK: placeholder until the OpenAPI client lands; replaced by cloud/rds.c. */
#include "lib/common.h"
#include "cloud/cloud.h"

#include "lib/banned.h"

int cloud_endpoint_resolve(char **host_out, unsigned *port_out, const struct endpoint *ep,
			   const char *task, struct gw_err *err)
{
	(void)host_out, (void)port_out, (void)task;
	return err_set(err, GW_EFATAL, "rds endpoint %s: Alibaba Cloud support is not built in",
		       ep->rds.instance_id ? ep->rds.instance_id : "?");
}

int cloud_whitelist_apply(const struct endpoint *ep, char *const *cidrs, size_t ncidrs, int add,
			  const char *task, struct gw_err *err)
{
	(void)cidrs, (void)ncidrs, (void)add, (void)task;
	return err_set(err, GW_EFATAL, "rds endpoint %s: Alibaba Cloud support is not built in",
		       ep->rds.instance_id ? ep->rds.instance_id : "?");
}

int cloud_instance_info(struct cloud_instance_info *out, const struct endpoint *ep,
			const char *task, struct gw_err *err)
{
	(void)out, (void)task;
	return err_set(err, GW_EFATAL, "rds endpoint %s: Alibaba Cloud support is not built in",
		       ep->rds.instance_id ? ep->rds.instance_id : "?");
}
