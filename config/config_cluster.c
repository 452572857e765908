/* config_cluster.c -- the keys of the `cluster:` section: where the NATS
 * servers are, how the series are cut into partitions and which of them
 * this member owns, the streams' replicas and retention, and how often a
 * partition's state goes into JetStream. Kept apart from config.c, which
 * holds the sections every daemon has. */
#include "config_cluster.h"

#include <stddef.h>
#include <string.h>

#include "error.h"

#define CFG(member) offsetof(struct tc_config, member)
#define CFG_SIZE(member) sizeof(((struct tc_config *)0)->member)
#define CFG_COUNT(member) (CFG_SIZE(member) / CFG_SIZE(member[0]))

/* A NATS URL as libnats takes it: nats:// or tls://, then host:port. */
static const char *check_nats_url(const char *s)
{
	static const char *const want = "a NATS URL like nats://127.0.0.1:4222";
	const char *rest = strncmp(s, "nats://", 7) == 0 ? s + 7
		: strncmp(s, "tls://", 6) == 0 ? s + 6 : NULL;
	if (!rest || !*rest || strchr(rest, ',') || strchr(rest, ' ')) {
		return want;
	}
	return NULL;
}

/* Dot-separated tokens of letters, digits, '_' and '-': it begins every
 * subject and names the streams (dots become '_'). */
static const char *check_prefix(const char *s)
{
	static const char *const want = "dot-separated tokens of letters, digits, '_' and '-', "
		"like tickcast or acme.tickcast";
	int token = 0;
	for (const char *c = s; *c; c++) {
		int word = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
			|| (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
		if (*c == '.' ? !token : !word) {
			return want;
		}
		token = *c != '.';
	}
	return token ? NULL : want;
}

const struct tc_option tc_config_cluster_options[] = {
	{ .name = "nats", .type = TC_OPTION_STRINGS, .offset = CFG(cluster.nats),
		.size = CFG_SIZE(cluster.nats[0]), .count_offset = CFG(cluster.n_nats),
		.min = 1, .max = CFG_COUNT(cluster.nats), .def_str = "nats://127.0.0.1:4222",
		.check = check_nats_url,
		.help = "NATS servers to connect to (any one will do; the rest are tried in turn)" },
	{ .name = "prefix", .type = TC_OPTION_STRING, .offset = CFG(cluster.prefix),
		.size = CFG_SIZE(cluster.prefix), .def_str = "tickcast", .check = check_prefix,
		.help = "subjects <prefix>.readings.<p>, <prefix>.forecast.<series>, "
			"<prefix>.checkpoints.<p>.*; streams <prefix>_readings, <prefix>_checkpoints" },
	{ .name = "partitions", .type = TC_OPTION_INT, .offset = CFG(cluster.partitions),
		.def = 16, .min = 1, .max = 4096,
		.help = "partitions of the readings stream (fixed for the stream's life); a series' "
			"partition is FNV-1a 32 of its id mod partitions" },
	{ .name = "members", .type = TC_OPTION_INT, .offset = CFG(cluster.members), .def = 1,
		.min = 1, .max = 4096,
		.help = "members sharing the partitions, each a contiguous block" },
	{ .name = "member", .type = TC_OPTION_INT, .offset = CFG(cluster.member), .def = 0,
		.min = 0, .max = 4095,
		.help = "this member's number, 0..members-1 (tickcastd --member K overrides it)" },
	{ .name = "replicas", .type = TC_OPTION_INT, .offset = CFG(cluster.replicas), .def = 1,
		.min = 1, .max = 5, .help = "JetStream replicas of the readings and checkpoint streams" },
	{ .name = "max_age_s", .type = TC_OPTION_INT64, .offset = CFG(cluster.max_age_s),
		.def = 86400, .min = 0, .max = 315360000,
		.help = "readings are kept this long (0: no age limit); must outlast "
			"checkpoint_every_s, or a restore cannot replay" },
	{ .name = "max_bytes", .type = TC_OPTION_INT64, .offset = CFG(cluster.max_bytes), .def = 0,
		.min = 0, .max = INT64_MAX, .help = "size limit of the readings stream; 0: none" },
	{ .name = "checkpoint_every_s", .type = TC_OPTION_INT, .offset = CFG(cluster.checkpoint_every_s),
		.def = 30, .min = 1, .max = 86400,
		.help = "each partition's state and position go into JetStream this often "
			"(at the first tick that closes after it is due), and on SIGTERM" },
	{ 0 },
};

int tc_config_cluster_check(const struct tc_config *cfg, const char *name, char *err)
{
	const struct tc_cluster_config *c = &cfg->cluster;
	if (!c->enabled) {
		return 0;
	}
	if (cfg->tick.clock != TC_CLOCK_EVENT) {
		return tc_err_set(err, "%s: cluster: needs tick.clock: event (a partition's ticks "
			"follow the readings' timestamps in stream order, so that a restore replays "
			"them exactly)", name);
	}
	if (c->member >= c->members) {
		return tc_err_set(err, "%s: cluster.member: %d, but there are %d members "
			"(numbered from 0)", name, c->member, c->members);
	}
	if (c->members > c->partitions) {
		return tc_err_set(err, "%s: cluster.members: %d members for %d partitions; a member "
			"owns at least one", name, c->members, c->partitions);
	}
	if (c->max_age_s && c->max_age_s <= c->checkpoint_every_s) {
		return tc_err_set(err, "%s: cluster.max_age_s: %lld s keeps readings no longer than "
			"checkpoint_every_s (%d s); a restore could not replay since its checkpoint",
			name, (long long)c->max_age_s, c->checkpoint_every_s);
	}
	return 0;
}
