/* libFuzzer target: the OpenAPI answer reader and the whitelist arithmetic
 * on arbitrary bytes (both read what the network sends). */
#include "lib/common.h"
#include "cloud/cjson.h"
#include "cloud/rds.h"
#include "lib/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct cjson *j, bool in_obj, int depth)
{
	for (; j; j = j->next) {
		if (depth > 70 || (in_obj != (j->key != NULL)))
			abort();
		if ((j->type == CJ_STR || j->type == CJ_NUM) != (j->text != NULL))
			abort();
		if (j->child && j->type != CJ_ARR && j->type != CJ_OBJ)
			abort();
		walk(j->child, j->type == CJ_OBJ, depth + 1);
	}
}

static void whitelist(const char *list)
{
	char *cidrs[] = {"203.0.113.0/28", "198.51.100.7"};
	struct buf out = BUF_INIT, again = BUF_INIT;
	enum rds_wl_op op, op2;

	/* adding, then adding again to the result, changes nothing the
	 * second time; removing from the result leaves nothing to remove */
	if (rds_whitelist_plan(&op, &out, list, cidrs, 2, 1) < 0)
		goto out;
	if (op == RDS_WL_COVER) {
		if (rds_whitelist_plan(&op2, &again, buf_cstr(&out), cidrs, 2, 1) < 0)
			goto out;
		if (op2 != RDS_WL_NONE)
			abort();
		buf_reset(&again);
		if (rds_whitelist_plan(&op2, &again, buf_cstr(&out), cidrs, 2, 0) < 0)
			goto out;
		if (op2 == RDS_WL_NONE)
			abort();
		if (op2 == RDS_WL_COVER) {
			buf_reset(&out);
			if (rds_whitelist_plan(&op, &out, buf_cstr(&again), cidrs, 2, 0) < 0)
				goto out;
			if (op != RDS_WL_NONE)
				abort();
		}
	}
out:
	buf_release(&out);
	buf_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cjson *j = NULL;
	struct gw_err e = GW_ERR_INIT;
	char *s;

	if (cjson_parse(&j, (const char *)data, size, &e) == 0) {
		walk(j, false, 0);
		(void)cjson_path(j, "Items.DBInstanceIPArray");
	} else if (j || !e.msg[0]) {
		abort();
	}
	cjson_free(j);
	if (!(s = strndup((const char *)data, size)))
		return 0;
	whitelist(s);
	free(s);
	return 0;
}
