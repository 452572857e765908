/* cert.h -- CURVE certificates as files: the ZPL text of CZMQ's zcert and pyzmq's zmq.auth.
 *
 * A pair is NAME.key (the public certificate, for whoever must know the key)
 * and NAME.key_secret (the same plus the secret key, mode 0600):
 *
 *     #   ZeroMQ CURVE Public Certificate
 *     metadata
 *     curve
 *         public-key = "<40 Z85 characters>"
 *         secret-key = "<40 Z85 characters>"      (the secret file only)
 *
 * Lines starting with # are comments; a nested line is indented by four
 * spaces a level. Keys stay in their Z85 text here: libzmq's socket options
 * and zmq_z85_decode take that form, and this layer has no libzmq. */
#ifndef TC_CERT_H
#define TC_CERT_H

#define TC_CERT_KEY_LEN 40 /* Z85 characters of a 32-byte CURVE key */

struct tc_cert {
	char public_key[TC_CERT_KEY_LEN + 1]; /* Z85, NUL-terminated */
	char secret_key[TC_CERT_KEY_LEN + 1]; /* Z85; "" when the file has none (a public cert) */
};

/* Reads the certificate at path into cert. Returns 0, or -1 with err
 * naming the file and line: "a.key:5: curve.public-key is 39 characters,
 * a Z85 key is 40". A file without curve.public-key is an error; one
 * without a secret key is fine (the caller says whether it needs one). */
int tc_cert_read(struct tc_cert *cert, const char *path, char *err);

/* Writes dir/name.key (mode 0644, public key only) and dir/name.key_secret
 * (mode 0600, both keys), refusing to overwrite either (nothing is left
 * behind then). Both keys of cert must be set. Returns 0, or -1 with err. */
int tc_cert_write(const char *dir, const char *name, const struct tc_cert *cert, char *err);

/* Whether key is exactly TC_CERT_KEY_LEN characters of the Z85 alphabet. */
int tc_cert_key_valid(const char *key);

#endif
