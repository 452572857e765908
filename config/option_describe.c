/* option_describe.c -- a table of options as a listing of keys, one a line, for --help and the docs. */
#include "option.h"

#include <string.h>

/* Bytes of one cell; the longest (a list of endpoints' default) is far shorter. */
#define CELL 160

/* The width of each column: the longest cell in it. */
struct columns {
	int key, type, def;
};

/* Appends "a | b | c" to buf. */
static void join_names(char *buf, size_t size, const char *const *names)
{
	size_t used = strlen(buf);
	for (size_t i = 0; names[i] && used < size; i++) {
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? " | " : "", names[i]);
	}
}

static void describe_type(char *buf, size_t size, const struct tc_option *o)
{
	/* Strings that may be empty say so with a lower bound of 0. */
	size_t min_len = o->may_be_empty ? 0 : 1;
	buf[0] = '\0';
	switch (o->type) {
	case TC_OPTION_INT:
		snprintf(buf, size, "int %lld..%lld", o->min, o->max);
		break;
	case TC_OPTION_INT64:
		snprintf(buf, size, "int64 %lld..%lld", o->min, o->max);
		break;
	case TC_OPTION_ENUM:
		join_names(buf, size, o->names);
		break;
	case TC_OPTION_KIND:
		join_names(buf, size, o->names);
		strncat(buf, " | mapping", size - strlen(buf) - 1);
		break;
	case TC_OPTION_FLOAT:
		snprintf(buf, size, "float %s%g, %g]", o->min_open ? "(" : "[", o->min_float,
			o->max_float);
		break;
	case TC_OPTION_STRING:
		snprintf(buf, size, "string %zu..%zu bytes", min_len, o->size - 1);
		break;
	case TC_OPTION_STRINGS:
		snprintf(buf, size, "list of %lld..%lld strings, %zu..%zu bytes", o->min, o->max,
			min_len, o->size - 1);
		break;
	case TC_OPTION_LIST:
		snprintf(buf, size, "list of %lld..%lld", o->min, o->max);
		break;
	case TC_OPTION_BOOL:
		snprintf(buf, size, "bool");
		break;
	case TC_OPTION_PATH:
		snprintf(buf, size, "path");
		break;
	case TC_OPTION_MAP:
		snprintf(buf, size, "mapping");
		break;
	}
}

static void describe_default(char *buf, size_t size, const struct tc_option *o)
{
	if (o->required) {
		snprintf(buf, size, "required");
	} else if (o->type == TC_OPTION_INT || o->type == TC_OPTION_INT64) {
		snprintf(buf, size, "%lld", o->def);
	} else if (o->type == TC_OPTION_BOOL) {
		snprintf(buf, size, "%s", o->def ? "true" : "false");
	} else if (o->type == TC_OPTION_FLOAT) {
		snprintf(buf, size, "%g", o->def_float);
	} else if (o->type == TC_OPTION_ENUM || o->type == TC_OPTION_KIND) {
		snprintf(buf, size, "%s", o->names[o->def]);
	} else if (o->type == TC_OPTION_STRING && o->def_str) {
		/* Quoted when empty, so that the column is not blank. */
		snprintf(buf, size, *o->def_str ? "%s" : "\"%s\"", o->def_str);
	} else if (o->type == TC_OPTION_STRINGS) {
		snprintf(buf, size, o->def_str ? "[\"%s\"]" : "[]", o->def_str ? o->def_str : "");
	} else {
		snprintf(buf, size, "-");
	}
}

static int max_int(int a, size_t b)
{
	return (size_t)a > b ? a : (int)b;
}

/* Prints a line per key under prefix with the widths in cols, or, when out
 * is NULL, widens cols to fit every line instead. */
static void describe(FILE *out, const struct tc_option *opts, const char *prefix,
	struct columns *cols)
{
	for (const struct tc_option *o = opts; o->name; o++) {
		char key[CELL], type[CELL], def[CELL];
		snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", o->name);
		describe_type(type, sizeof type, o);
		describe_default(def, sizeof def, o);
		if (out) {
			fprintf(out, "%-*s  %-*s  %-*s  %s\n", cols->key, key, cols->type, type,
				cols->def, def, o->help);
		} else {
			cols->key = max_int(cols->key, strlen(key));
			cols->type = max_int(cols->type, strlen(type));
			cols->def = max_int(cols->def, strlen(def));
		}
		if (o->child) {
			if (o->type == TC_OPTION_LIST) {
				strncat(key, "[]", sizeof key - strlen(key) - 1);
			}
			describe(out, o->child, key, cols);
		}
	}
}

void tc_option_describe(FILE *out, const struct tc_option *opts)
{
	struct columns cols = { .key = 3, .type = 4, .def = 7 };
	describe(NULL, opts, "", &cols);
	fprintf(out, "%-*s  %-*s  %-*s  %s\n", cols.key, "KEY", cols.type, "TYPE", cols.def,
		"DEFAULT", "MEANING");
	describe(out, opts, "", &cols);
}
