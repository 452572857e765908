/* st_writer.h -- writes small safetensors files for tests that need weights. */
#ifndef TC_TEST_ST_WRITER_H
#define TC_TEST_ST_WRITER_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct st_tensor {
	const char *name;
	const char *dtype;      /* "F32", "I64", ... */
	int ndim;
	uint64_t shape[2];
	const void *data;
	size_t nbytes;
};

/* Writes the tensors, contiguous in the given order, to a new temp file
 * whose name is stored in path (at least 64 bytes). Returns 0 or -1. */
static inline int st_write(char *path, const struct st_tensor *t, size_t n)
{
	char header[65536];
	size_t used = (size_t)snprintf(header, sizeof header, "{");
	size_t offset = 0;
	for (size_t i = 0; i < n; i++) {
		used += (size_t)snprintf(header + used, sizeof header - used,
			"%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", t[i].name, t[i].dtype);
		for (int d = 0; d < t[i].ndim; d++) {
			used += (size_t)snprintf(header + used, sizeof header - used, "%s%llu",
				d ? "," : "", (unsigned long long)t[i].shape[d]);
		}
		used += (size_t)snprintf(header + used, sizeof header - used,
			"],\"data_offsets\":[%zu,%zu]}", offset, offset + t[i].nbytes);
		offset += t[i].nbytes;
	}
	used += (size_t)snprintf(header + used, sizeof header - used, "}");
	strcpy(path, "/tmp/tc_test_XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0) {
		return -1;
	}
	FILE *f = fdopen(fd, "wb");
	unsigned char len[8];
	for (int i = 0; i < 8; i++) {
		len[i] = (unsigned char)((uint64_t)used >> (8 * i));
	}
	fwrite(len, 1, 8, f);
	fwrite(header, 1, used, f);
	for (size_t i = 0; i < n; i++) {
		fwrite(t[i].data, 1, t[i].nbytes, f);
	}
	return fclose(f) == 0 ? 0 : -1;
}

#endif
