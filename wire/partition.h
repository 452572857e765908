/* partition.h -- which partition a series belongs to in cluster mode, the same function
 * nats-server's subject mapping `{{partition(P,1)}}` computes, so producers, members and
 * a server-side mapping all agree.
 *
 *     uint32_t p = tc_partition_of("cpu.host1", 9, 8);   // 0..7
 */
#ifndef TC_PARTITION_H
#define TC_PARTITION_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 32-bit of the len bytes of id (offset basis 0x811c9dc5, prime
 * 0x01000193), mod partitions (at least 1). Any bytes: id is only hashed. */
uint32_t tc_partition_of(const char *id, size_t len, uint32_t partitions);

#endif
