/* partition.c -- a series' partition, FNV-1a 32-bit mod P (see partition.h). */
#include "partition.h"

uint32_t tc_partition_of(const char *id, size_t len, uint32_t partitions)
{
	uint32_t h = 0x811c9dc5u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)id[i];
		h *= 0x01000193u;
	}
	return h % partitions;
}
