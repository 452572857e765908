/* config_fixture.h -- parsing YAML text in the config tests, and checking
 * what it gives or the whole error message; shared by test_config*.c. */
#ifndef TC_TEST_CONFIG_FIXTURE_H
#define TC_TEST_CONFIG_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"

/* The smallest valid model section (lines 1-4), for tests that vary one thing. */
#define MODEL \
	"model:\n" \
	"  weights: m.safetensors\n" \
	"  layers: [{type: gru, hidden: 8}]\n" \
	"  head: {type: linear, outputs: 1}\n"

static inline int parse(struct tc_config *cfg, const char *text, char *err)
{
	err[0] = '\0';
	return tc_config_parse(cfg, "config.yaml", text, strlen(text), err);
}

/* Parses text that must be rejected and checks the whole message. */
static inline void expect_error(const char *text, const char *want)
{
	struct tc_config cfg;
	char err[TC_ERR_LEN];
	cr_assert_eq(parse(&cfg, text, err), -1, "accepted:\n%s", text);
	cr_assert_str_eq(err, want);
}

static inline void expect_ok(struct tc_config *cfg, const char *text)
{
	char err[TC_ERR_LEN];
	cr_assert_eq(parse(cfg, text, err), 0, "%s", err);
}

/* Everything tc_config_describe prints, as one string (the caller frees it). */
/* Not inlined: GCC 12 then mistakes the returned buffer for a dead local. */
static __attribute__((noinline, unused)) char *describe_all(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	tc_config_describe(out);
	fclose(out);
	return text;
}

/* Checks that describe's line for key holds each of the words, in order. */
static inline void expect_described(const char *text, const char *key,
	const char *const *words)
{
	char start[64];
	snprintf(start, sizeof start, "\n%s ", key);
	const char *line = strstr(text, start);
	cr_assert_not_null(line, "no line for %s in:\n%s", key, text);
	const char *end = strchr(line + 1, '\n');
	for (const char *at = line + strlen(start); *words; words++) {
		at = strstr(at, *words);
		cr_assert(at && at < end, "%s: no \"%s\" in %.*s", key, *words,
			(int)(end - line), line);
	}
}

#endif
