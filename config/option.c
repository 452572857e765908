/* option.c -- a table of options applied to a YAML document: defaults, checks, file:line:col errors. */
#include "option.h"

#include "error.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Stores v, already checked against o's bounds, as o's type. */
static void store_int(char *base, const struct tc_option *o, long long v)
{
	if (o->offset == TC_OPTION_NO_FIELD) {
		return;
	}
	if (o->type == TC_OPTION_INT64) {
		int64_t v64 = v;
		memcpy(base + o->offset, &v64, sizeof v64);
	} else {
		int i = (int)v;
		memcpy(base + o->offset, &i, sizeof i);
	}
}

static void store_float(char *base, const struct tc_option *o, double v)
{
	memcpy(base + o->offset, &v, sizeof v);
}

static void store_count(char *base, const struct tc_option *o, long long count)
{
	int n = (int)count;
	memcpy(base + o->count_offset, &n, sizeof n);
}

void tc_option_defaults(const struct tc_option *opts, void *base_v)
{
	char *base = base_v;
	for (const struct tc_option *o = opts; o->name; o++) {
		switch (o->type) {
		case TC_OPTION_MAP:
			tc_option_defaults(o->child, base);
			break;
		case TC_OPTION_KIND:
			store_int(base, o, o->def);
			tc_option_defaults(o->child, base);
			break;
		case TC_OPTION_FLOAT:
			if (!o->required) {
				store_float(base, o, o->def_float);
			}
			break;
		case TC_OPTION_STRING:
			if (o->def_str) {
				snprintf(base + o->offset, o->size, "%s", o->def_str);
			}
			break;
		case TC_OPTION_STRINGS:
			if (o->def_str) {
				snprintf(base + o->offset, o->size, "%s", o->def_str);
			}
			store_count(base, o, o->def_str ? 1 : 0);
			break;
		case TC_OPTION_INT:
		case TC_OPTION_INT64:
		case TC_OPTION_BOOL:
		case TC_OPTION_ENUM:
			if (!o->required) {
				store_int(base, o, o->def);
			}
			break;
		default:
			break; /* paths and lists start empty */
		}
	}
}

/* "a, b, c" into buf, for "expected one of ..." messages. */
static const char *join_names(char *buf, size_t size, const char *const *names, const char *sep)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i] && used < size; i++) {
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? sep : "", names[i]);
	}
	return buf;
}

static size_t count_names(const char *const *names)
{
	size_t n = 0;
	while (names[n]) {
		n++;
	}
	return n;
}

/* The keys of a table, for "unknown key (expected one of: ...)". */
static const char *join_keys(char *buf, size_t size, const struct tc_option *opts)
{
	size_t used = 0;
	buf[0] = '\0';
	for (const struct tc_option *o = opts; o->name && used < size; o++) {
		used += (size_t)snprintf(buf + used, size - used, "%s%s", o == opts ? "" : ", ",
			o->name);
	}
	return buf;
}

/* What a value of this option must look like: "expected <this>". */
static const char *expected(char *buf, size_t size, const struct tc_option *o)
{
	switch (o->type) {
	case TC_OPTION_INT:
	case TC_OPTION_INT64:
		if (o->min > 0) {
			return "a positive integer";
		}
		return o->min == 0 ? "a non-negative integer" : "an integer";
	case TC_OPTION_FLOAT:
		return "a number";
	case TC_OPTION_BOOL:
		return "true or false";
	case TC_OPTION_ENUM:
		if (count_names(o->names) == 1) {
			return o->names[0];
		}
		memcpy(buf, "one of ", 8);
		join_names(buf + 7, size - 7, o->names, ", ");
		return buf;
	case TC_OPTION_KIND:
		memcpy(buf, "one of ", 8);
		join_names(buf + 7, size - 7, o->names, ", ");
		strncat(buf, " or a mapping", size - strlen(buf) - 1);
		return buf;
	case TC_OPTION_STRING:
		return "a string";
	case TC_OPTION_STRINGS:
		return "a string or a sequence of strings";
	case TC_OPTION_PATH:
		return "a file path";
	case TC_OPTION_MAP:
		return "a mapping";
	case TC_OPTION_LIST:
		return "a sequence of mappings or one mapping";
	}
	return "?";
}

/* Bytes of a key path in messages ("model.layers[1].hidden"); the schema's
 * paths are far shorter, and an unknown key's name is cut to 64 bytes. */
#define KEY_PATH_LEN 256

/* Formats a key path into buf (KEY_PATH_LEN bytes), cutting what does not fit. */
static void key_path(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void key_path(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, KEY_PATH_LEN, fmt, ap);
	va_end(ap);
}

/* State of one walk over a loaded document. */
struct walk {
	yaml_document_t *doc;
	const char *name; /* the file, for messages */
	char *err;
};

/* "name:line:col: path: what", from a 0-based libyaml mark. */
static int fail(const struct walk *w, yaml_mark_t at, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(const struct walk *w, yaml_mark_t at, const char *path, const char *fmt, ...)
{
	char what[TC_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return tc_err_set(w->err, "%s:%zu:%zu: %s%s%s", w->name, at.line + 1, at.column + 1,
		path, *path ? ": " : "", what);
}

static int is_scalar(const yaml_node_t *n, const char *s)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s)
		&& memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

static int is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
		&& (is_scalar(n, "") || is_scalar(n, "~") || is_scalar(n, "null")
			|| is_scalar(n, "Null") || is_scalar(n, "NULL"));
}

/* How a value that does not fit is named in "got <this>". */
static const char *got(char *buf, size_t size, const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE) {
		return "a mapping";
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		return "a sequence";
	}
	if (is_null(n)) {
		return n->data.scalar.length ? "null" : "an empty value";
	}
	int len = n->data.scalar.length > 60 ? 60 : (int)n->data.scalar.length;
	snprintf(buf, size, "\"%.*s%s\"", len, (const char *)n->data.scalar.value,
		n->data.scalar.length > 60 ? "..." : "");
	return buf;
}

static int fail_want(const struct walk *w, const yaml_node_t *n, const char *path,
	const char *want)
{
	char have[80];
	return fail(w, n->start_mark, path, "expected %s, got %s", want,
		got(have, sizeof have, n));
}

static int fail_type(const struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o)
{
	char want[128];
	return fail_want(w, n, path, expected(want, sizeof want, o));
}

/* Plain decimal with an optional sign. 0: *v set; -1: not an integer;
 * 1: too large to hold. */
static int parse_int(const char *s, size_t len, long long *v)
{
	size_t i = (len > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
	int neg = i && s[0] == '-';
	int overflow = 0;
	if (i == len || (s[i] == '0' && len - i > 1)) {
		return -1;
	}
	*v = 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -1;
		}
		int d = s[i] - '0';
		overflow |= *v > (INT64_MAX - d) / 10;
		*v = overflow ? 0 : *v * 10 + d;
	}
	*v = neg ? -*v : *v;
	return overflow;
}

static int walk_int(struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o, char *base)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	long long v;
	int rc = parse_int(s, len, &v);
	if (rc < 0) {
		return fail_type(w, n, path, o);
	}
	if (rc > 0 || v < o->min || v > o->max) {
		return fail(w, n->start_mark, path, "%.*s is out of range %lld..%lld",
			(int)len, s, o->min, o->max);
	}
	store_int(base, o, v);
	return 0;
}

static int walk_bool(struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o, char *base)
{
	static const char *const words[] = { "false", "true", "no", "yes", "off", "on" };
	const char *s = (const char *)n->data.scalar.value;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (n->data.scalar.length == strlen(words[i]) && strcasecmp(s, words[i]) == 0) {
			store_int(base, o, (long long)(i % 2));
			return 0;
		}
	}
	return fail_type(w, n, path, o);
}

static int walk_enum(struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o, char *base)
{
	for (size_t i = 0; o->names[i]; i++) {
		if (is_scalar(n, o->names[i])) {
			store_int(base, o, (long long)i);
			return 0;
		}
	}
	return fail_type(w, n, path, o);
}

/* The end of the run of bytes from set that starts at s[i]. */
static size_t span(const char *s, size_t len, size_t i, const char *set)
{
	while (i < len && s[i] && strchr(set, s[i])) {
		i++;
	}
	return i;
}

/* Past an optional fraction (".25") and, after some digit, an optional
 * exponent ("e-3") from end; *has_digits says whether any digit was seen,
 * and is 0 after an exponent without digits. Returns the new end. */
static size_t span_fraction_and_exponent(const char *s, size_t len, size_t end, int *has_digits)
{
	static const char digits[] = "0123456789";
	if (end < len && s[end] == '.') {
		size_t frac = span(s, len, end + 1, digits);
		*has_digits |= frac > end + 1;
		end = frac;
	}
	if (*has_digits && end < len && (s[end] == 'e' || s[end] == 'E')) {
		size_t exp = end + 1 + (end + 1 < len && (s[end + 1] == '-' || s[end + 1] == '+'));
		end = span(s, len, exp, digits);
		*has_digits = end > exp;
	}
	return end;
}

/* Whether s reads as a number in YAML's core schema: 5, -0.5, 1e3, 010,
 * 0x1f, 0o17 (not .inf or .nan). */
static int is_number(const char *s, size_t len)
{
	static const char digits[] = "0123456789";
	size_t i = (len > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
	if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o')) {
		return span(s, len, i + 2, s[i + 1] == 'x' ? "0123456789abcdefABCDEF" : "01234567")
			== len;
	}
	size_t end = span(s, len, i, digits);
	int has_digits = end > i;
	end = span_fraction_and_exponent(s, len, end, &has_digits);
	return has_digits && end == len;
}

/* A decimal number: an optional sign, digits (no leading zero before
 * another digit) with an optional fraction, or a fraction alone, and an
 * optional exponent: 0.05, -2, 1e-3, .5. No hex, no .inf or .nan, no _.
 * 0: *v set; -1: not such a number; 1: beyond double's range. */
static int parse_float(const char *s, size_t len, double *v)
{
	static const char digits[] = "0123456789";
	size_t i = (len > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
	size_t end = span(s, len, i, digits);
	int has_digits = end > i;
	if (end - i > 1 && s[i] == '0') {
		return -1;
	}
	end = span_fraction_and_exponent(s, len, end, &has_digits);
	if (!has_digits || end != len) {
		return -1;
	}
	char *stop;
	*v = strtod(s, &stop); /* libyaml ends every scalar with a NUL */
	return (size_t)(stop - s) == len && isfinite(*v) ? 0 : 1;
}

static int walk_float(struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o, char *base)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	double v;
	int rc = parse_float(s, len, &v);
	if (rc < 0) {
		return fail_type(w, n, path, o);
	}
	if (rc > 0 || (o->min_open ? v <= o->min_float : v < o->min_float) || v > o->max_float) {
		return fail(w, n->start_mark, path, "%.*s is out of range %s%g, %g]", (int)len, s,
			o->min_open ? "(" : "[", o->min_float, o->max_float);
	}
	store_float(base, o, v);
	return 0;
}

/* Checks a string value's length and bytes, then o's own check; 0 when it
 * may be stored. */
static int check_string(struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (len == 0) {
		return o->may_be_empty ? 0 : fail(w, n->start_mark, path, "expected a non-empty string");
	}
	if (memchr(s, '\0', len)) {
		return fail(w, n->start_mark, path, "contains a NUL byte");
	}
	if (len >= o->size) {
		return fail(w, n->start_mark, path, "is %zu bytes long, at most %zu allowed",
			len, o->size - 1);
	}
	const char *want = o->check ? o->check(s) : NULL;
	if (want) {
		return fail_want(w, n, path, want);
	}
	/* Our reader keeps the text, but other YAML tools would not: 0123 becomes 83
	 * and 1.50 becomes 1.5 when the file is rewritten. */
	if (o->type != TC_OPTION_PATH && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
		&& is_number(s, len)) {
		return fail(w, n->start_mark, path,
			"expected a string, got the number %.40s; quote it (\"%.40s\") to use it as text",
			s, s);
	}
	return 0;
}

/* One string of a STRING or STRINGS option into out (o->size bytes). */
static int walk_string(struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o, char *out)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		return fail_want(w, n, path, "a string");
	}
	if (check_string(w, n, path, o) < 0) {
		return -1;
	}
	memcpy(out, n->data.scalar.value, n->data.scalar.length + 1);
	return 0;
}

/* A sequence of strings; one string is a sequence of one, and null an empty one. */
static int walk_strings(struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o, char *base)
{
	yaml_node_item_t *items = NULL;
	long long count = 0;
	if (n->type == YAML_SEQUENCE_NODE) {
		items = n->data.sequence.items.start;
		count = n->data.sequence.items.top - items;
	} else if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		count = 1;
	} else if (!is_null(n)) {
		return fail_type(w, n, path, o);
	}
	if (count < o->min || count > o->max) {
		return fail(w, n->start_mark, path, "expected %lld..%lld items, got %lld",
			o->min, o->max, count);
	}
	for (long long i = 0; i < count; i++) {
		char item_path[KEY_PATH_LEN];
		const yaml_node_t *item = n;
		if (items) {
			item = yaml_document_get_node(w->doc, items[i]);
			key_path(item_path, "%s[%lld]", path, i);
		} else {
			key_path(item_path, "%s", path);
		}
		if (walk_string(w, item, item_path, o, base + o->offset + (size_t)i * o->size) < 0) {
			return -1;
		}
	}
	store_count(base, o, count);
	return 0;
}

/* Relative paths are joined with the folder of the config file's name. */
static int walk_path(struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o, char *base)
{
	const char *s = (const char *)n->data.scalar.value;
	if (check_string(w, n, path, o) < 0) {
		return -1;
	}
	const char *slash = strrchr(w->name, '/');
	char *out = base + o->offset;
	int len;
	if (s[0] == '\0') {
		len = snprintf(out, o->size, "%s", ""); /* may_be_empty: "" stays "", off */
	} else if (s[0] == '/') {
		len = snprintf(out, o->size, "%s", s);
	} else if (!slash) {
		len = snprintf(out, o->size, "./%s", s);
	} else {
		/* "/x.yaml" gives a folder of "", and "/" + s is the root's file. */
		len = snprintf(out, o->size, "%.*s/%s", (int)(slash - w->name), w->name, s);
	}
	if ((size_t)len >= o->size) {
		return fail(w, n->start_mark, path,
			"is %d bytes long joined with the config file's folder, at most %zu allowed",
			len, o->size - 1);
	}
	return 0;
}

static int walk_value(struct walk *w, const yaml_node_t *n, const char *path,
	yaml_mark_t where, const struct tc_option *o, char *base);

static int walk_map(struct walk *w, const yaml_node_t *n, const char *path,
	yaml_mark_t where, const struct tc_option *opts, char *base);

/* Item i of a list: its keys, then the list's own check of it. */
static int walk_item(struct walk *w, const yaml_node_t *item, const char *path, long long i,
	const struct tc_option *o, char *base)
{
	char item_path[KEY_PATH_LEN];
	char *item_base = base + (size_t)i * o->stride;
	key_path(item_path, "%s[%lld]", path, i);
	if (item->type != YAML_MAPPING_NODE) {
		return fail_want(w, item, item_path, "a mapping");
	}
	tc_option_defaults(o->child, item_base);
	if (walk_map(w, item, item_path, item->start_mark, o->child, item_base) < 0) {
		return -1;
	}
	const char *wrong = o->check_item ? o->check_item(item_base) : NULL;
	return wrong ? fail(w, item->start_mark, item_path, "%s", wrong) : 0;
}

static int walk_list(struct walk *w, const yaml_node_t *n, const char *path,
	const struct tc_option *o, char *base)
{
	if (n->type == YAML_MAPPING_NODE) {
		if (o->min > 1) {
			return fail(w, n->start_mark, path, "expected %lld..%lld items, got 1 mapping",
				o->min, o->max);
		}
		store_count(base, o, 1);
		return walk_item(w, n, path, 0, o, base);
	}
	yaml_node_item_t *items = NULL;
	long long count = 0;
	if (n->type == YAML_SEQUENCE_NODE) {
		items = n->data.sequence.items.start;
		count = n->data.sequence.items.top - items;
	}
	if (count < o->min || count > o->max) {
		return fail(w, n->start_mark, path, "expected %lld..%lld items, got %lld",
			o->min, o->max, count);
	}
	for (long long i = 0; i < count; i++) {
		if (walk_item(w, yaml_document_get_node(w->doc, items[i]), path, i, o, base) < 0) {
			return -1;
		}
	}
	store_count(base, o, count);
	return 0;
}

static int walk_value(struct walk *w, const yaml_node_t *n, const char *path,
	yaml_mark_t where, const struct tc_option *o, char *base)
{
	if (o->type == TC_OPTION_MAP) {
		if (n->type != YAML_MAPPING_NODE && !is_null(n)) {
			return fail_type(w, n, path, o);
		}
		if (o->marks_given) {
			store_int(base, o, 1);
		}
		return walk_map(w, n, path, where, o->child, base);
	}
	if (o->type == TC_OPTION_LIST) {
		if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
			return fail_type(w, n, path, o);
		}
		return walk_list(w, n, path, o, base);
	}
	if (o->type == TC_OPTION_STRINGS) {
		return walk_strings(w, n, path, o, base);
	}
	if (o->type == TC_OPTION_KIND && n->type == YAML_MAPPING_NODE) {
		return walk_map(w, n, path, where, o->child, base);
	}
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		return fail_type(w, n, path, o);
	}
	switch (o->type) {
	case TC_OPTION_INT:
	case TC_OPTION_INT64:
		return walk_int(w, n, path, o, base);
	case TC_OPTION_BOOL:
		return walk_bool(w, n, path, o, base);
	case TC_OPTION_FLOAT:
		return walk_float(w, n, path, o, base);
	case TC_OPTION_ENUM:
	case TC_OPTION_KIND:
		return walk_enum(w, n, path, o, base);
	case TC_OPTION_STRING:
		return walk_string(w, n, path, o, base + o->offset);
	default:
		return walk_path(w, n, path, o, base);
	}
}

static const struct tc_option *find_option(const struct tc_option *opts, const yaml_node_t *key)
{
	for (const struct tc_option *o = opts; o->name; o++) {
		if (is_scalar(key, o->name)) {
			return o;
		}
	}
	return NULL;
}


/* Walks one key: value pair of a mapping; seen[] holds each option's key node. */
static int walk_pair(struct walk *w, const yaml_node_pair_t *pair, const char *path,
	const struct tc_option *opts, const yaml_node_t **seen, char *base)
{
	const yaml_node_t *key = yaml_document_get_node(w->doc, pair->key);
	const yaml_node_t *value = yaml_document_get_node(w->doc, pair->value);
	char sub[KEY_PATH_LEN], names[256], have[80];
	if (key->type != YAML_SCALAR_NODE) {
		return fail(w, key->start_mark, path, "expected a key name, got %s",
			got(have, sizeof have, key));
	}
	int len = key->data.scalar.length > 64 ? 64 : (int)key->data.scalar.length;
	key_path(sub, "%s%s%.*s", path, *path ? "." : "", len, (const char *)key->data.scalar.value);
	const struct tc_option *o = find_option(opts, key);
	if (!o) {
		return fail(w, key->start_mark, sub, "unknown key (expected one of: %s)",
			join_keys(names, sizeof names, opts));
	}
	if (seen[o - opts]) {
		yaml_mark_t first = seen[o - opts]->start_mark;
		return fail(w, key->start_mark, sub, "duplicate key (first at %zu:%zu)",
			first.line + 1, first.column + 1);
	}
	seen[o - opts] = key;
	return walk_value(w, value, sub, key->start_mark, o, base);
}

/* Walks a mapping, or a null read as an empty one. `where` is the place a
 * missing required key is reported: the mapping's own key, or the list item. */
static int walk_map(struct walk *w, const yaml_node_t *n, const char *path,
	yaml_mark_t where, const struct tc_option *opts, char *base)
{
	const yaml_node_t *seen[TC_OPTION_MAX_KEYS] = { 0 };
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
			p < n->data.mapping.pairs.top; p++) {
			if (walk_pair(w, p, path, opts, seen, base) < 0) {
				return -1;
			}
		}
	}
	for (const struct tc_option *o = opts; o->name; o++) {
		if (o->required && !seen[o - opts]) {
			char sub[KEY_PATH_LEN];
			key_path(sub, "%s%s%s", path, *path ? "." : "", o->name);
			return fail(w, where, sub, "required key missing");
		}
	}
	return 0;
}

int tc_option_walk(const struct tc_option *opts, yaml_document_t *doc, const char *name,
	void *base, char *err)
{
	struct walk w = { .doc = doc, .name = name, .err = err };
	const yaml_node_t *root = yaml_document_get_root_node(doc);
	if (!root) {
		char names[256];
		return tc_err_set(err, "%s:1:1: the file is empty (expected a mapping with keys %s)",
			name, join_keys(names, sizeof names, opts));
	}
	if (root->type != YAML_MAPPING_NODE) {
		return fail_want(&w, root, "", "a mapping at the top level");
	}
	return walk_map(&w, root, "", root->start_mark, opts, base);
}
