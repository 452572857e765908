/* option.h -- a table of options, and the walk of a libyaml document that fills a struct from it (private to config/).
 *
 * A table is an array of struct tc_option ending in { 0 }; each entry is one
 * key: its name, type, where its value goes, default, bounds and help text.
 * The same table drives defaults (tc_option_defaults), parsing and validation
 * (tc_option_walk, option.c) and the key listing (tc_option_describe,
 * option_describe.c), so a key exists in one place only. */
#ifndef TC_OPTION_H
#define TC_OPTION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

enum tc_option_type {
	TC_OPTION_INT,     /* stored as int */
	TC_OPTION_INT64,   /* stored as int64_t */
	TC_OPTION_BOOL,    /* stored as int, 0 or 1 */
	TC_OPTION_ENUM,    /* stored as int: the index of the word in names */
	TC_OPTION_STRING,  /* stored in a char[size] */
	TC_OPTION_STRINGS, /* a sequence of strings, or one string; stored in char[max][size] */
	TC_OPTION_PATH,    /* a string; relative ones resolve against the file's folder */
	TC_OPTION_FLOAT,   /* stored as double: a finite decimal number */
	TC_OPTION_MAP,     /* a mapping whose keys are the child table */
	TC_OPTION_LIST,    /* a sequence of mappings whose keys are the child table, or
	                      one mapping, read as a list of one */
	/* A kind of thing, stored as ENUM: one of names alone (the child's other
	 * keys keep their defaults), or a mapping of the child table, whose
	 * required `type` key is the same ENUM at the same offset. */
	TC_OPTION_KIND,
};

/* The offset of an option checked but stored nowhere (a layer's `type`). */
#define TC_OPTION_NO_FIELD SIZE_MAX

/* Most keys in one table. */
#define TC_OPTION_MAX_KEYS 16

/* One key. Offsets are from the struct being filled; the fields of a list
 * item i are at offset + i * stride of its list. */
struct tc_option {
	const char *name;
	enum tc_option_type type;
	size_t offset;                 /* where the value goes, or TC_OPTION_NO_FIELD */
	size_t size;                   /* STRING, PATH: bytes of the buffer; STRINGS: of each item */
	int required;
	int may_be_empty;              /* STRING, STRINGS: "" is allowed (it means "none") */
	long long def;                 /* INT, INT64, BOOL, ENUM, KIND: the default */
	const char *def_str;           /* STRING: the default; STRINGS: the one default item */
	long long min, max;            /* INT, INT64: value bounds; LIST, STRINGS: item count
	                                  bounds (max no more than the items stored) */
	double def_float;              /* FLOAT: the default */
	double min_float, max_float;   /* FLOAT: value bounds */
	int min_open;                  /* FLOAT: min_float itself is out of range, as in (0, 1] */
	const char *const *names;      /* ENUM, KIND: the accepted words, NULL-ended */
	/* STRING, STRINGS: NULL when a non-empty s is acceptable, else what was
	 * expected instead ("an endpoint like ..."). */
	const char *(*check)(const char *s);
	const struct tc_option *child; /* MAP, LIST, KIND: the keys of the mapping (of each item) */
	int marks_given;               /* MAP: the int at offset becomes 1 when the mapping is
	                                  given (before its keys are read, so a key may undo it) */
	size_t count_offset;           /* LIST, STRINGS: where the item count goes (int) */
	size_t stride;                 /* LIST: bytes from one item's fields to the next's */
	/* LIST: NULL, or a check of one item once its keys are read (item: the
	 * base its fields are at): NULL when it is consistent, else what is
	 * wrong, reported at the item. */
	const char *(*check_item)(const char *item);
	const char *help;              /* one line for --help and the docs */
};

/* Stores every default of opts (and of its mappings) into base. */
void tc_option_defaults(const struct tc_option *opts, void *base);

/* Fills base from doc's root mapping, checking every value against opts.
 * `name` is the file, for messages and for resolving relative paths.
 * Returns 0, or -1 with err "name:line:col: key.path: what is wrong". */
int tc_option_walk(const struct tc_option *opts, yaml_document_t *doc, const char *name,
	void *base, char *err);

/* Prints one line per key (path, type, default, help), after a heading. */
void tc_option_describe(FILE *out, const struct tc_option *opts);

#endif
