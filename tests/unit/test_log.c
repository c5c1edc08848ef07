/* Unit tests of the log helpers (common/log.c): escaping of bytes from the
 * network and the human units of log and summary lines. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

START_TEST(escape_bytes)
{
	char out[64];
	ck_assert_str_eq(tftp_log_escape("a.bin", 5, out, sizeof(out)), "a.bin");
	ck_assert_str_eq(tftp_log_escape("\x1b]0;x\x07", 6, out, sizeof(out)),
			 "\\x1b]0;x\\x07");
	ck_assert_str_eq(tftp_log_escape("a\\b", 3, out, sizeof(out)), "a\\\\b");
	ck_assert_str_eq(tftp_log_escape("a\0b", 3, out, sizeof(out)), "a\\x00b");
	ck_assert_str_eq(tftp_log_escape("\xff", 1, out, sizeof(out)), "\\xff");
}
END_TEST

START_TEST(escape_cut)
{
	char out[8];
	/* Never past cap, always terminated, cut marked. */
	tftp_log_escape("abcdefghijkl", 12, out, sizeof(out));
	ck_assert_uint_lt(strlen(out), sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, "..."));
	/* An escape is not split: 4 bytes fit whole or not at all. */
	tftp_log_escape("ab\x01\x02\x03", 5, out, sizeof(out));
	ck_assert_uint_lt(strlen(out), sizeof(out));
	ck_assert_ptr_null(strstr(out, "\\x0..."));
}
END_TEST

START_TEST(sizes)
{
	char out[32];
	ck_assert_str_eq(tftp_human_size(1023, out, sizeof(out)), "");
	ck_assert_str_eq(tftp_human_size(1024, out, sizeof(out)), " (1.0 KiB)");
	ck_assert_str_eq(tftp_human_size(1536, out, sizeof(out)), " (1.5 KiB)");
	/* The unit follows the rounded value. */
	ck_assert_str_eq(tftp_human_size(1048575, out, sizeof(out)),
			 " (1.0 MiB)");
	ck_assert_str_eq(tftp_human_size(1048524, out, sizeof(out)),
			 " (1023.9 KiB)");
	ck_assert_str_eq(tftp_human_size(8u << 20, out, sizeof(out)),
			 " (8.0 MiB)");
	ck_assert_str_eq(tftp_human_size(UINT64_MAX, out, sizeof(out)),
			 " (16777216.0 TiB)");
}
END_TEST

START_TEST(durations)
{
	char out[32];
	ck_assert_str_eq(tftp_human_duration(0, out, sizeof(out)), "0 us");
	ck_assert_str_eq(tftp_human_duration(850, out, sizeof(out)), "850 us");
	ck_assert_str_eq(tftp_human_duration(999, out, sizeof(out)), "999 us");
	ck_assert_str_eq(tftp_human_duration(1000, out, sizeof(out)), "1.0 ms");
	ck_assert_str_eq(tftp_human_duration(12345, out, sizeof(out)),
			 "12.3 ms");
	ck_assert_str_eq(tftp_human_duration(999949, out, sizeof(out)),
			 "999.9 ms");
	ck_assert_str_eq(tftp_human_duration(999999, out, sizeof(out)),
			 "1.000 s");
	ck_assert_str_eq(tftp_human_duration(4567000, out, sizeof(out)),
			 "4.567 s");
}
END_TEST

START_TEST(rates)
{
	char out[32];
	ck_assert_str_eq(tftp_human_rate(512, 1000000, out, sizeof(out)),
			 "512 B/s");
	ck_assert_str_eq(tftp_human_rate(1536, 1000000, out, sizeof(out)),
			 "1.5 KiB/s");
	/* No division by zero: 0 us counts as 1. */
	ck_assert_str_eq(tftp_human_rate(1, 0, out, sizeof(out)),
			 "976.6 KiB/s");
	ck_assert_str_eq(tftp_human_rate(0, 0, out, sizeof(out)), "0 B/s");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, escape_bytes);
	tcase_add_test(tc, escape_cut);
	suite_add_tcase(s, tc);
	tc = tcase_create("units");
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, rates);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
