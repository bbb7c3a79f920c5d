/*
 * `godwit binlog FILE...`: decodes binlog files offline (plain or gzip) with
 * the engine's decoder and prints one JSON object per event; events inside
 * a transaction payload follow the payload event as if uncompressed.
 */
#include "lib/common.h"
#include "controller/commands.h"
#include "binlog/binlog.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/banned.h"

/* The largest event a server writes (max_allowed_packet is at most 1 GiB). */
#define MAX_EVENT ((size_t)1 << 30)

/* Reads exactly n bytes; *got says how many came before the end. */
static int read_full(gzFile f, uint8_t *p, size_t n, size_t *got, struct gw_err *err)
{
	*got = 0;
	while (*got < n) {
		size_t want = n - *got;
		int r;

		if (want > (1u << 30))
			want = 1u << 30;
		r = gzread(f, p + *got, (unsigned)want);
		if (r < 0) {
			int zerr;
			const char *m = gzerror(f, &zerr);

			return err_set(err, GW_EFATAL, "read error: %s",
				       zerr == Z_ERRNO ? strerror(errno) : m);
		}
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

static int emit(struct buf *out, const struct binlog_event *ev, const char *file, uint64_t pos,
		bool inner, struct gw_err *err)
{
	buf_reset(out);
	if (binlog_event_json(out, ev, file, pos) < 0)
		return err_set(err, GW_ENOMEM, "out of memory formatting an event");
	if (inner) {
		buf_truncate(out, out->len - 1);
		if (buf_puts(out, ",\"in_payload\":true}") < 0)
			return err_set(err, GW_ENOMEM, "out of memory formatting an event");
	}
	if (buf_putc(out, '\n') < 0)
		return err_set(err, GW_ENOMEM, "out of memory formatting an event");
	if (fwrite(out->ptr, 1, out->len, stdout) != out->len)
		return err_set(err, GW_EFATAL, "writing to stdout: %s", strerror(errno));
	return 0;
}

static int decode_file(const char *path, struct gw_err *err)
{
	static const uint8_t magic[4] = {0xfe, 'b', 'i', 'n'};
	struct binlog_decoder *d = NULL;
	struct binlog_event ev;
	struct buf out = BUF_INIT;
	uint8_t hdr[4], *evb = NULL;
	size_t cap = 0, got;
	uint64_t pos = 0;
	gzFile f;
	int rc = 0;

	f = gzopen(path, "rb");
	if (!f)
		return err_set(err, GW_EFATAL, "%s: cannot open: %s", path,
			       errno ? strerror(errno) : "out of memory");
	d = binlog_decoder_new();
	if (!d) {
		rc = err_set(err, GW_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((rc = read_full(f, hdr, 4, &got, err)) < 0)
		goto fail;
	if (got != 4 || memcmp(hdr, magic, 4) != 0) {
		rc = err_set(err, GW_EFATAL, "not a binlog file (no \\xfebin magic)");
		goto fail;
	}
	pos = 4;
	for (;;) {
		uint8_t h[19];
		size_t size;
		bool have;

		if ((rc = read_full(f, h, sizeof(h), &got, err)) < 0)
			goto fail;
		if (got == 0)
			break;
		if (got < sizeof(h)) {
			rc = err_set(err, GW_EFATAL, "event header truncated (%zu of 19 bytes)",
				     got);
			goto fail;
		}
		size =
		    (size_t)h[9] | (size_t)h[10] << 8 | (size_t)h[11] << 16 | (size_t)h[12] << 24;
		if (size < sizeof(h) || size > MAX_EVENT) {
			rc = err_set(err, GW_EFATAL, "event size %zu in the header is impossible",
				     size);
			goto fail;
		}
		if (size > cap) {
			uint8_t *nb = realloc(evb, size);

			if (!nb) {
				rc = err_set(err, GW_ENOMEM,
					     "out of memory for an event of %zu bytes", size);
				goto fail;
			}
			evb = nb;
			cap = size;
		}
		memcpy(evb, h, sizeof(h));
		if ((rc = read_full(f, evb + sizeof(h), size - sizeof(h), &got, err)) < 0)
			goto fail;
		if (got < size - sizeof(h)) {
			rc = err_set(err, GW_EFATAL, "event truncated (%zu of %zu bytes)",
				     got + sizeof(h), size);
			goto fail;
		}
		if ((rc = binlog_decode(d, evb, size, &ev, err)) < 0)
			goto fail;
		if ((rc = emit(&out, &ev, path, pos, false, err)) < 0)
			goto fail;
		if (ev.kind == BK_PAYLOAD) {
			for (;;) {
				if ((rc = binlog_decode_inner(d, &ev, &have, err)) < 0)
					goto fail;
				if (!have)
					break;
				if ((rc = emit(&out, &ev, path, pos, true, err)) < 0)
					goto fail;
			}
		}
		pos += size;
	}
	goto out;
fail:
	err_prefix(err, "%s: offset %llu", path, (unsigned long long)pos);
out:
	if (fflush(stdout) != 0 && rc == 0)
		rc = err_set(err, GW_EFATAL, "writing to stdout: %s", strerror(errno));
	gzclose(f);
	binlog_decoder_free(d);
	free(evb);
	buf_release(&out);
	return rc;
}

int cmd_binlog(int argc, char **argv)
{
	char **pos = NULL;
	size_t npos = 0, i;
	int status = 0;

	if ((status = cli_parse("binlog", argc, argv, NULL, 0, &pos, &npos)) != 0)
		return status;
	if (npos == 0) {
		fprintf(stderr, "godwit binlog: no FILE given (see godwit binlog --help)\n");
		free(pos);
		return 2;
	}
	for (i = 0; i < npos; i++) {
		struct gw_err err = GW_ERR_INIT;

		if (decode_file(pos[i], &err) < 0) {
			fprintf(stderr, "godwit binlog: %s\n", err.msg);
			status = 1;
		}
	}
	free(pos);
	return status;
}
