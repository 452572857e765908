/* fuzz_file.h -- the fuzz input as a path, for readers that only open files.
 *
 * tc_safetensors_open and tc_checkpoint_load take a path and read the whole
 * file, so each run writes the input to one memfd (no disk, no temp names)
 * and hands /proc/self/fd/N in. */
#ifndef TC_FUZZ_FILE_H
#define TC_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Replaces the memfd's contents with data and returns its path (static);
 * aborts when the memfd cannot be made or written, which is no finding. */
static const char *fuzz_file_path(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("tc_fuzz", 0);
		if (fd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
		perror("memfd write");
		abort();
	}
	return path;
}

#endif
