/* series_id.h -- what a series id may be: the one length limit and the one check of its bytes.
 *
 * A series id is 1..TC_ID_MAX bytes, none of them a space or a control
 * character (below 0x20, or 0x7f); any other byte, UTF-8 included, is fine.
 * Every place an id comes in (text and binary readings, binary forecasts,
 * `tickcast series ID`) checks it here, so they all accept the same ids.
 * TC_ID_MAX fits the one length byte of the binary formats. */
#ifndef TC_SERIES_ID_H
#define TC_SERIES_ID_H

#include <stddef.h>

#define TC_ID_MAX 255 /* bytes */

/* Checks len bytes of id (no NUL needed). Returns 0, or -1 with err
 * (TC_ERR_LEN bytes) saying what is wrong: "empty series id", "series id is
 * 300 bytes, the limit is 255", "series id has a space 0x20 at byte 3",
 * "series id has control character 0x01 at byte 1". A length over TC_ID_MAX
 * is reported before any byte is looked at. */
int tc_series_id_check(const char *id, size_t len, char *err);

#endif
