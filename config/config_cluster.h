/* config_cluster.h -- (private to config/) the keys of the `cluster:` section
 * (members of a NATS JetStream cluster, docs/cluster.md) and what they need
 * of the other sections. */
#ifndef TC_CONFIG_CLUSTER_H
#define TC_CONFIG_CLUSTER_H

#include "config.h"
#include "option.h"

extern const struct tc_option tc_config_cluster_options[];

/* Checks what cluster mode needs of the whole config once every section is
 * read: the event clock, a member number below members, no more members
 * than partitions. Returns 0, or -1 with err "name: cluster...: why". */
int tc_config_cluster_check(const struct tc_config *cfg, const char *name, char *err);

#endif
