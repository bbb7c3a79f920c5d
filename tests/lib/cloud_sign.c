/*
 * Test helper: godwit's OpenAPI signature of one request.
 * Usage: cloud_sign SECRET KEY VALUE [KEY VALUE...]; prints the Signature
 * (the parameters exclude it) on one line, and the canonical query on the
 * next.
 */
#include "lib/common.h"
#include "cloud/openapi.h"
#include "lib/buf.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	struct openapi_param p[128];
	struct buf sig = BUF_INIT, q = BUF_INIT;
	size_t n = 0;
	int i;

	if (argc < 2 || (argc - 2) % 2 || (size_t)(argc - 2) / 2 > ARRAY_SIZE(p)) {
		fprintf(stderr, "usage: cloud_sign SECRET KEY VALUE [KEY VALUE...]\n");
		return 2;
	}
	for (i = 2; i + 1 < argc; i += 2)
		p[n++] = (struct openapi_param){argv[i], argv[i + 1]};
	if (openapi_sign(&sig, p, n, argv[1]) < 0 || openapi_canonical_query(&q, p, n) < 0) {
		fprintf(stderr, "cloud_sign: failed\n");
		return 1;
	}
	printf("%s\n%s\n", buf_cstr(&sig), buf_cstr(&q));
	buf_release(&sig);
	buf_release(&q);
	return 0;
}
