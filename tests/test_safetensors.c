/* test_safetensors.c -- reading safetensors: values, conversions, every bad header. */
#include <criterion/criterion.h>

#include <math.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "safetensors.h"

/* Each file is built here byte by byte, so a test shows exactly what is wrong
 * with it. The expected floats come from Python's struct module ('<e', '<f',
 * '<d'), not from this reader. */

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (unsigned char)(v >> (8 * i));
	}
}

/* Writes bytes to a fresh file under /tmp; path must hold "/tmp/tc_st_XXXXXX". */
static void write_raw(char *path, const void *bytes, size_t len)
{
	strcpy(path, "/tmp/tc_st_XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp failed");
	cr_assert_eq(write(fd, bytes, len), (ssize_t)len, "short write to %s", path);
	close(fd);
}

/* A safetensors file: the header's length, the header, then data_len bytes of
 * data, of which only the first keep_data are written (to fake truncation). */
static void write_st_cut(char *path, const char *header, const void *data,
	size_t data_len, size_t keep_data)
{
	size_t hlen = strlen(header);
	unsigned char *buf = malloc(8 + hlen + data_len + 1);
	put_le64(buf, hlen);
	memcpy(buf + 8, header, hlen);
	if (data_len) {
		memcpy(buf + 8 + hlen, data, data_len);
	}
	write_raw(path, buf, 8 + hlen + keep_data);
	free(buf);
}

static void write_st(char *path, const char *header, const void *data, size_t data_len)
{
	write_st_cut(path, header, data, data_len, data_len);
}

/* Opening path must fail with a message naming the file and containing want. */
static void expect_open_error(const char *path, const char *want)
{
	char err[TC_ERR_LEN] = "";
	struct tc_safetensors *st = tc_safetensors_open(path, err);
	cr_assert_null(st, "%s opened but should fail with \"%s\"", path, want);
	cr_assert(strstr(err, path), "error does not name the file: %s", err);
	cr_assert(strstr(err, want), "expected \"%s\" in: %s", want, err);
}

static void expect_error(const char *header, const void *data, size_t data_len,
	const char *want)
{
	char path[32];
	write_st(path, header, data, data_len);
	expect_open_error(path, want);
	unlink(path);
}

static struct tc_safetensors *open_ok(const char *path)
{
	char err[TC_ERR_LEN] = "";
	struct tc_safetensors *st = tc_safetensors_open(path, err);
	cr_assert_not_null(st, "open failed: %s", err);
	return st;
}

/* Four tensors whose header order is neither alphabetical nor by offset:
 * F32 [2, 3] at 8..32, I64 [1] at 0..8, an empty F32 [0, 4] at 32..32 and a
 * U8 scalar at 32..33. The header is padded so the F32 data is unaligned. */
static struct tc_safetensors *open_valid(char *path)
{
	char header[512];
	int n = snprintf(header, sizeof header, "{"
		"\"z.last\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
		"\"a.first\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
		"\"m.empty\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[32,32]},"
		"\"b.scalar\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[32,33]}}");
	while ((8 + n + 8) % 4 != 1) {
		header[n++] = ' ';
	}
	header[n] = '\0';
	unsigned char data[33];
	int64_t i64 = -5;
	float f32[6] = {1.5f, -2.0f, 0.25f, 3.0f, -0.0f, 1e-3f};
	memcpy(data, &i64, 8);
	memcpy(data + 8, f32, sizeof f32);
	data[32] = 200;
	write_st(path, header, data, sizeof data);
	return open_ok(path);
}

static void assert_shape(const struct tc_tensor *t, int ndim, const uint64_t *shape)
{
	cr_assert_eq(t->ndim, ndim, "%s: ndim %d, expected %d", t->name, t->ndim, ndim);
	for (int i = 0; i < ndim; i++) {
		cr_assert_eq(t->shape[i], shape[i], "%s: shape[%d] is %llu", t->name, i,
			(unsigned long long)t->shape[i]);
	}
}

Test(safetensors, keeps_tensors_in_header_order_not_name_or_offset_order)
{
	char path[32];
	struct tc_safetensors *st = open_valid(path);
	const char *order[] = {"z.last", "a.first", "m.empty", "b.scalar"};
	cr_assert_eq(tc_safetensors_count(st), 4);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_str_eq(tc_safetensors_at(st, i)->name, order[i]);
	}
	cr_assert_str_eq(tc_safetensors_path(st), path);
	tc_safetensors_close(&st);
	unlink(path);
}

Test(safetensors, reads_the_dtype_shape_size_and_bytes_of_each_tensor)
{
	char path[32];
	struct tc_safetensors *st = open_valid(path);
	const struct tc_tensor *t = tc_safetensors_at(st, 0);
	cr_assert_eq(t->dtype, TC_DTYPE_F32);
	assert_shape(t, 2, (uint64_t[]){2, 3});
	cr_assert_eq(t->nbytes, 24);
	cr_assert_eq(tc_tensor_numel(t), 6);
	t = tc_safetensors_at(st, 1);
	int64_t i64;
	memcpy(&i64, t->data, 8);
	cr_assert_eq(t->dtype, TC_DTYPE_I64);
	cr_assert_eq(i64, -5);
	t = tc_safetensors_at(st, 2);
	assert_shape(t, 2, (uint64_t[]){0, 4});
	cr_assert_eq(tc_tensor_numel(t), 0);
	cr_assert_eq(t->nbytes, 0);
	t = tc_safetensors_at(st, 3);
	cr_assert_eq(t->ndim, 0);
	cr_assert_eq(tc_tensor_numel(t), 1, "a scalar has one element");
	cr_assert_eq(*(const unsigned char *)t->data, 200);
	tc_safetensors_close(&st);
	unlink(path);
}

/* A weights file truncated under a reader (`cp new old` while a reload
 * reads old): what was read stays as it was, and its bytes are the file's
 * as opened. (A mapped file would raise SIGBUS here.) */
Test(safetensors, a_file_truncated_after_open_leaves_what_was_read_intact)
{
	char path[32];
	struct tc_safetensors *st = open_valid(path);
	size_t len;
	const unsigned char *bytes = tc_safetensors_bytes(st, &len);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(len, (size_t)sb.st_size);
	cr_assert_eq(truncate(path, 0), 0, "truncate: %s", strerror(errno));
	const struct tc_tensor *t = tc_safetensors_at(st, 1);
	int64_t i64;
	memcpy(&i64, t->data, 8);
	cr_assert_eq(i64, -5);
	unsigned sum = 0;
	for (size_t i = 0; i < len; i++) {
		sum += bytes[i];
	}
	cr_assert_gt(sum, 0u);
	tc_safetensors_close(&st);
	unlink(path);
}

Test(safetensors, finds_a_tensor_by_name_and_returns_null_for_an_unknown_name)
{
	char path[32];
	struct tc_safetensors *st = open_valid(path);
	const struct tc_tensor *t = tc_safetensors_find(st, "a.first");
	cr_assert_not_null(t);
	cr_assert_eq(t, tc_safetensors_at(st, 1));
	cr_assert_null(tc_safetensors_find(st, "a.firs"));
	cr_assert_null(tc_safetensors_find(st, "__metadata__"));
	tc_safetensors_close(&st);
	unlink(path);
}

Test(safetensors, converts_unaligned_f32_data_to_floats)
{
	char path[32];
	struct tc_safetensors *st = open_valid(path);
	const struct tc_tensor *t = tc_safetensors_find(st, "z.last");
	cr_assert_neq((uintptr_t)t->data % 4, 0, "the fixture should be unaligned");
	float out[6];
	cr_assert_eq(tc_tensor_to_f32(t, out), 0);
	float want[6] = {1.5f, -2.0f, 0.25f, 3.0f, -0.0f, 1e-3f};
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(out[i], want[i], "out[%d] = %g, expected %g", i, out[i], want[i]);
	}
	cr_assert(signbit(out[4]), "negative zero lost its sign");
	cr_assert_eq(tc_tensor_to_f32(tc_safetensors_find(st, "m.empty"), NULL), 0,
		"an empty tensor converts without touching out");
	tc_safetensors_close(&st);
	unlink(path);
}

/* Converts one tensor of the given dtype holding n elements of raw little-endian bytes. */
static void convert(const char *dtype, const void *raw, size_t elem, size_t n, float *out)
{
	char header[256];
	snprintf(header, sizeof header,
		"{\"t\":{\"dtype\":\"%s\",\"shape\":[%zu],\"data_offsets\":[0,%zu]}}",
		dtype, n, n * elem);
	char path[32];
	write_st(path, header, raw, n * elem);
	struct tc_safetensors *st = open_ok(path);
	cr_assert_eq(tc_tensor_to_f32(tc_safetensors_at(st, 0), out), 0);
	tc_safetensors_close(&st);
	unlink(path);
}

Test(safetensors, converts_f16_including_subnormals_infinities_and_negative_zero)
{
	uint16_t raw[] = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x3555, 0x7C00,
		0xFC00, 0x8000, 0x7E00};
	float want[] = {1.0f, -2.0f, 5.960464477539063e-08f, 6.097555160522461e-05f,
		6.103515625e-05f, 65504.0f, 0.333251953125f, INFINITY, -INFINITY, -0.0f};
	float out[11];
	convert("F16", raw, 2, 11, out);
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(out[i], want[i], "half 0x%04x -> %.9g, expected %.9g", raw[i],
			out[i], want[i]);
	}
	cr_assert(signbit(out[9]), "half -0 lost its sign");
	cr_assert(isnan(out[10]), "half 0x7E00 -> %g, expected nan", out[10]);
}

Test(safetensors, converts_bf16_to_f32_by_widening_the_bits)
{
	uint16_t raw[] = {0x3F80, 0xC040, 0x3EAB, 0x7F80, 0x8000, 0x0001};
	float want[] = {1.0f, -3.0f, 0.333984375f, INFINITY, -0.0f, 9.183549615799121e-41f};
	float out[6];
	convert("BF16", raw, 2, 6, out);
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(out[i], want[i], "bf16 0x%04x -> %.9g, expected %.9g", raw[i],
			out[i], want[i]);
	}
	cr_assert(signbit(out[4]), "bf16 -0 lost its sign");
}

Test(safetensors, converts_f64_to_f32_rounding_to_nearest_and_overflowing_to_infinity)
{
	double raw[] = {0.1, 1e300, -0.0, 3.5, 1e-50};
	float want[] = {0.10000000149011612f, INFINITY, -0.0f, 3.5f, 0.0f};
	float out[5];
	convert("F64", raw, 8, 5, out);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(out[i], want[i], "%g -> %.9g, expected %.9g", raw[i], out[i],
			want[i]);
	}
	cr_assert(signbit(out[2]), "f64 -0 lost its sign");
}

Test(safetensors, refuses_to_convert_an_integer_tensor_to_f32)
{
	char path[32];
	struct tc_safetensors *st = open_valid(path);
	float out[1] = {42.0f};
	cr_assert_eq(tc_tensor_to_f32(tc_safetensors_find(st, "a.first"), out), -1);
	cr_assert_eq(out[0], 42.0f, "a refused conversion must not write");
	cr_assert(!tc_dtype_is_float(TC_DTYPE_I64));
	cr_assert(tc_dtype_is_float(TC_DTYPE_BF16));
	tc_safetensors_close(&st);
	unlink(path);
}

Test(safetensors, spells_dtypes_as_the_header_does)
{
	cr_assert_str_eq(tc_dtype_to_string(TC_DTYPE_BF16), "BF16");
	cr_assert_str_eq(tc_dtype_to_string(TC_DTYPE_BOOL), "BOOL");
	cr_assert_str_eq(tc_dtype_to_string(TC_DTYPE_F64), "F64");
}

Test(safetensors, accepts_string_metadata_and_does_not_count_it_as_a_tensor)
{
	char path[32];
	float one = 1.0f;
	write_st(path, "{\"__metadata__\":{\"format\":\"pt\",\"epoch\":\"7\"},"
		"\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", &one, 4);
	struct tc_safetensors *st = open_ok(path);
	cr_assert_eq(tc_safetensors_count(st), 1);
	cr_assert_str_eq(tc_safetensors_at(st, 0)->name, "w");
	tc_safetensors_close(&st);
	unlink(path);
}

Test(safetensors, rejects_metadata_that_is_not_an_object_of_strings)
{
	expect_error("{\"__metadata__\":{\"epoch\":7}}", NULL, 0,
		"__metadata__: \"epoch\" is an integer, values must be strings");
	expect_error("{\"__metadata__\":[\"pt\"]}", NULL, 0,
		"__metadata__ is an array, must be an object of strings");
}

Test(safetensors, opens_a_file_with_no_tensors_and_no_data)
{
	char path[32];
	write_st(path, "{}", NULL, 0);
	struct tc_safetensors *st = open_ok(path);
	cr_assert_eq(tc_safetensors_count(st), 0);
	cr_assert_null(tc_safetensors_find(st, "w"));
	tc_safetensors_close(&st);
	unlink(path);
}

Test(safetensors, close_sets_the_pointer_to_null_and_accepts_null)
{
	char path[32];
	struct tc_safetensors *st = open_valid(path);
	tc_safetensors_close(&st);
	cr_assert_null(st);
	tc_safetensors_close(&st);
	tc_safetensors_close(NULL);
	unlink(path);
}

Test(safetensors, rejects_a_zero_byte_file)
{
	char path[32];
	write_raw(path, "", 0);
	expect_open_error(path, "file is 0 bytes, too short for a safetensors header");
	unlink(path);
}

Test(safetensors, rejects_a_five_byte_file)
{
	char path[32];
	write_raw(path, "\x02\0\0\0\0", 5);
	expect_open_error(path, "file is 5 bytes, too short for a safetensors header");
	unlink(path);
}

Test(safetensors, rejects_a_header_length_of_zero)
{
	char path[32];
	unsigned char bytes[10] = {0};
	write_raw(path, bytes, sizeof bytes);
	expect_open_error(path, "header length is 0");
	unlink(path);
}

Test(safetensors, rejects_a_header_length_past_the_end_of_the_file)
{
	char path[32];
	unsigned char bytes[10] = {0, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
	put_le64(bytes, 3);
	write_raw(path, bytes, sizeof bytes);
	expect_open_error(path, "header length 3 runs past the end of the file "
		"(2 bytes follow the length)");
	unlink(path);
}

Test(safetensors, rejects_a_header_length_over_the_cap)
{
	char path[32];
	unsigned char bytes[10] = {0, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
	put_le64(bytes, TC_SAFETENSORS_MAX_HEADER + 1ull);
	write_raw(path, bytes, sizeof bytes);
	expect_open_error(path, "header length 104857601 is over the limit of 104857600 bytes");
	unlink(path);
}

Test(safetensors, rejects_broken_json_with_jansson_s_message_and_position)
{
	expect_error("{\"w\": {\"dtype\": ", NULL, 0, "header JSON: unexpected token "
		"near end of file (line 1, column 16, byte 16)");
	expect_error("{\"w\" 1}", NULL, 0,
		"header JSON: ':' expected near '1' (line 1, column 6, byte 6)");
}

Test(safetensors, rejects_a_header_that_is_not_an_object)
{
	expect_error("[1, 2]", NULL, 0, "header is an array, must be a JSON object");
}

Test(safetensors, rejects_an_entry_that_is_not_an_object)
{
	expect_error("{\"w\": [0, 4]}", NULL, 0, "w: entry is an array, must be an object");
}

Test(safetensors, rejects_an_unknown_dtype)
{
	expect_error("{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", "x", 1,
		"w: unknown dtype \"Q4\"");
	expect_error("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,1]}}", "x", 1,
		"w: dtype is an integer, must be a string");
}

Test(safetensors, rejects_a_shape_that_does_not_match_the_bytes)
{
	static unsigned char data[700];
	expect_error("{\"gru.weight_ih_l0\":{\"dtype\":\"F32\",\"shape\":[192,1],"
		"\"data_offsets\":[0,700]}}", data, sizeof data,
		"gru.weight_ih_l0: shape [192, 1] needs 768 bytes of F32, data_offsets give 700");
}

Test(safetensors, rejects_a_shape_whose_byte_count_overflows)
{
	expect_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776,"
		"1099511627776],\"data_offsets\":[0,4]}}", "abcd", 4,
		"w: shape [1099511627776, 1099511627776, 1099511627776] of F32 is more than 2^64");
	/* 2^62 elements fit in 64 bits, but not 2^62 F32s. */
	expect_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
		"\"data_offsets\":[0,4]}}", "abcd", 4, "is more than 2^64 bytes");
}

Test(safetensors, rejects_a_negative_shape_dimension)
{
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[2,-3],\"data_offsets\":[0,1]}}",
		"x", 1, "w: shape[1] is -3, must be a non-negative integer");
}

Test(safetensors, rejects_a_non_integer_shape_dimension)
{
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[2.0],\"data_offsets\":[0,2]}}",
		"xy", 2, "w: shape[0] is a real, must be a non-negative integer");
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[\"2\"],\"data_offsets\":[0,2]}}",
		"xy", 2, "w: shape[0] is a string, must be a non-negative integer");
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":2,\"data_offsets\":[0,2]}}",
		"xy", 2, "w: shape is an integer, must be an array");
}

Test(safetensors, rejects_more_dimensions_than_supported)
{
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
		"\"data_offsets\":[0,1]}}", "x", 1, "w: shape has 9 dimensions, at most 8");
}

Test(safetensors, rejects_unknown_and_missing_keys_in_an_entry)
{
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],"
		"\"strides\":[1]}}", "x", 1, "w: unknown key \"strides\"");
	expect_error("{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", "x", 1,
		"w: missing \"shape\"");
}

Test(safetensors, rejects_data_offsets_that_are_not_a_pair_of_integers)
{
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}",
		"xy", 2, "w: data_offsets has 3 elements, must be [begin, end]");
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}",
		"x", 1, "w: data_offsets[0] is -1, must be a non-negative integer");
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":\"0-1\"}}",
		"x", 1, "w: data_offsets is a string, must be an array");
}

Test(safetensors, rejects_data_offsets_that_begin_after_they_end)
{
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[3,1]}}",
		"abcd", 4, "w: data_offsets [3, 1] begin after they end");
}

Test(safetensors, rejects_data_offsets_past_the_end_of_the_data)
{
	expect_error("{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[100,104]}}",
		"abcd", 4, "w: data_offsets [100, 104] reach past the 4 bytes of data");
}

Test(safetensors, rejects_a_truncated_file_whose_data_is_shorter_than_the_offsets)
{
	char path[32];
	float data[4] = {1, 2, 3, 4};
	write_st_cut(path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
		data, sizeof data, 10);
	expect_open_error(path, "w: data_offsets [0, 16] reach past the 10 bytes of data");
	unlink(path);
}

Test(safetensors, rejects_overlapping_tensors_naming_both)
{
	static unsigned char data[12];
	expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		"\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data, 12,
		"tensors \"a\" [0, 8) and \"b\" [4, 12) overlap");
}

Test(safetensors, rejects_a_zero_sized_tensor_inside_another_as_the_reference_reader_does)
{
	static unsigned char data[8];
	expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		"\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", data, 8,
		"tensors \"a\" [0, 8) and \"e\" [4, 4) overlap");
}

Test(safetensors, rejects_a_hole_between_tensors)
{
	static unsigned char data[12];
	expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		"\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", data, 12,
		"bytes [4, 8) of the data belong to no tensor (before \"b\")");
}

Test(safetensors, rejects_bytes_after_the_last_tensor)
{
	static unsigned char data[12];
	expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
		data, 12, "bytes [4, 12) of the data belong to no tensor (after the last)");
	expect_error("{}", data, 12, "bytes [0, 12) of the data belong to no tensor");
}

Test(safetensors, rejects_duplicate_tensor_names)
{
	static unsigned char data[8];
	expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
		"\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data, 8,
		"duplicate object key");
}

Test(safetensors, reports_the_system_error_for_a_missing_file)
{
	expect_open_error("/tmp/tc_st_no_such_dir/m.safetensors",
		"cannot open: No such file or directory");
}

Test(safetensors, rejects_a_directory)
{
	expect_open_error("/tmp", "not a regular file");
}
