/* config_fixture.h -- parsing YAML text in the config tests, and checking
 * what it gives or the whole error message; shared by test_config*.c. */
#ifndef TC_TEST_CONFIG_FIXTURE_H
#define TC_TEST_CONFIG_FIXTURE_H

#include <criterion/criterion.h>
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

#endif
