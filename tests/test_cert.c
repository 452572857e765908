/* test_cert.c -- CURVE certificate files: round trip, pyzmq's layout, and malformed files. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert.h"
#include "error.h"

#define PUB "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define SEC "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"

static char dir[] = "/tmp/tc_cert_XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static const char *path_of(const char *name)
{
	static char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static const char *write_text(const char *text)
{
	const char *p = path_of("c.key");
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static void expect_bad(const char *text, const char *msg)
{
	struct tc_cert c;
	char err[TC_ERR_LEN] = "";
	const char *p = write_text(text);
	cr_assert_eq(tc_cert_read(&c, p, err), -1, "accepted:\n%s", text);
	char want[TC_ERR_LEN];
	snprintf(want, sizeof want, "%s%s", p, msg);
	cr_assert_str_eq(err, want);
}

TestSuite(cert, .init = setup, .fini = teardown);

Test(cert, a_written_pair_reads_back_with_the_secret_only_in_the_secret_file)
{
	struct tc_cert c = {PUB, SEC}, got;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_cert_write(dir, "alice", &c, err), 0, "%s", err);
	cr_assert_eq(tc_cert_read(&got, path_of("alice.key"), err), 0, "%s", err);
	cr_assert_str_eq(got.public_key, PUB);
	cr_assert_str_eq(got.secret_key, "");
	cr_assert_eq(tc_cert_read(&got, path_of("alice.key_secret"), err), 0, "%s", err);
	cr_assert_str_eq(got.public_key, PUB);
	cr_assert_str_eq(got.secret_key, SEC);
	struct stat st;
	cr_assert_eq(stat(path_of("alice.key_secret"), &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(cert, writing_over_an_existing_pair_is_refused_and_leaves_it_alone)
{
	struct tc_cert c = {PUB, SEC}, other = {SEC, PUB}, got;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_cert_write(dir, "bob", &c, err), 0, "%s", err);
	cr_assert_eq(tc_cert_write(dir, "bob", &other, err), -1);
	cr_assert(strstr(err, "bob.key_secret: already exists"), "%s", err);
	unlink(path_of("bob.key_secret"));
	cr_assert_eq(tc_cert_write(dir, "bob", &other, err), -1);
	cr_assert(strstr(err, "bob.key: cannot create: File exists"), "%s", err);
	cr_assert_eq(access(path_of("bob.key_secret"), F_OK), -1, "a half pair was left behind");
	cr_assert_eq(tc_cert_read(&got, path_of("bob.key"), err), 0, "%s", err);
	cr_assert_str_eq(got.public_key, PUB);
}

Test(cert, pyzmq_layout_with_comments_metadata_and_crlf_reads)
{
	struct tc_cert c;
	char err[TC_ERR_LEN];
	const char *p = write_text("#   ****  Generated on 2026-12-05 by pyzmq  ****\r\n"
		"#   ZeroMQ CURVE **Secret** Certificate\n\nmetadata\n    name = \"x # y\"\n"
		"curve\n    public-key = \"" PUB "\"\n    secret-key = \"" SEC "\"\n");
	cr_assert_eq(tc_cert_read(&c, p, err), 0, "%s", err);
	cr_assert_str_eq(c.public_key, PUB);
	cr_assert_str_eq(c.secret_key, SEC);
}

Test(cert, malformed_files_say_which_line_and_what)
{
	expect_bad("curve\n    public-key = \"abc\"\n",
		":2: curve.public-key is 3 characters, a Z85 key is 40");
	expect_bad("curve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~\"\n",
		":2: curve.public-key has a character outside Z85 at 40");
	expect_bad("curve\n    public-key = \"" PUB "\"\n    public-key = \"" PUB "\"\n",
		":3: curve.public-key given twice");
	expect_bad("curve\n    colour = \"red\"\n",
		":2: unknown key curve.colour (expected public-key or secret-key)");
	expect_bad("curve\n    public-key\n", ":2: expected `name = \"value\"` under curve, "
		"got \"public-key\"");
	expect_bad("    public-key = \"" PUB "\"\n", ":1: an indented line before any section");
	expect_bad("curve\n\tpublic-key = \"" PUB "\"\n",
		":2: a tab in the indentation (ZPL indents with four spaces)");
	expect_bad("curve\n        public-key = \"" PUB "\"\n",
		":2: curve's keys are indented by 4 spaces, this line by 8");
	expect_bad("metadata\ncurve\n", ": no curve.public-key (not a CURVE certificate?)");
	expect_bad("", ": no curve.public-key (not a CURVE certificate?)");
}

Test(cert, a_missing_file_and_an_overlong_line_are_errors)
{
	struct tc_cert c;
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_cert_read(&c, path_of("none.key"), err), -1);
	cr_assert(strstr(err, "none.key: cannot open: No such file"), "%s", err);
	char big[3000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cr_assert_eq(tc_cert_read(&c, write_text(big), err), -1);
	cr_assert(strstr(err, ":1: line longer than 1022 bytes"), "%s", err);
}

Test(cert, keys_of_the_wrong_form_are_not_written)
{
	struct tc_cert c = {PUB, "short"};
	char err[TC_ERR_LEN];
	cr_assert_eq(tc_cert_write(dir, "x", &c, err), -1);
	cr_assert_str_eq(err, "a certificate needs both keys as 40 Z85 characters");
	struct tc_cert ok = {PUB, SEC};
	cr_assert_eq(tc_cert_write(dir, "a/b", &ok, err), -1);
	cr_assert(strstr(err, "must be non-empty and without '/'"), "%s", err);
}
