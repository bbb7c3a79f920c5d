/* NEEDSWORK: placeholder; the real loader replaces this file. */
#include "lib/common.h"
#include "spec/spec.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

void diag_list_release(struct diag_list *d)
{
	(void)d;
}
int diag_list_format(struct buf *out, const struct diag_list *d)
{
	(void)out, (void)d;
	return 0;
}
int spec_load_file(struct spec **out, const char *path, struct diag_list *diags)
{
	(void)path, (void)diags;
	*out = NULL;
	return GW_EFATAL;
}
int spec_load_buffer(struct spec **out, const char *path, const char *data, size_t len,
		     struct diag_list *diags)
{
	(void)path, (void)data, (void)len, (void)diags;
	*out = NULL;
	return GW_EFATAL;
}
void spec_free(struct spec *s)
{
	(void)s;
}
int spec_secret_resolve(char **out, const struct secret_ref *ref, struct gw_err *err)
{
	(void)ref;
	*out = NULL;
	return err_set(err, GW_EFATAL, "secrets: not implemented");
}
void spec_secret_free(char *secret)
{
	free(secret);
}
