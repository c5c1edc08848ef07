/* Unit tests of the address text helpers (common/net.c). */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

struct hp_case {
	const char *in;
	const char *host;
	uint16_t port;
};

START_TEST(hostport_good)
{
	static const struct hp_case cases[] = {
		{"[::1]:6969", "::1", 6969},
		{"[::1]", "::1", 69},
		{"[fe80::1%eth0]:1", "fe80::1%eth0", 1},
		{":6969", "", 6969},
		{"host", "host", 69},
		{"host.example.org:65535", "host.example.org", 65535},
		{"1.2.3.4:69", "1.2.3.4", 69},
		{"1.2.3.4", "1.2.3.4", 69},
		{"::1", "::1", 69},
		{"::", "::", 69},
		{"2001:db8::1", "2001:db8::1", 69},
		{"a:00080", "a", 80}, /* leading zeros are still decimal */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64];
		uint16_t port = 0;
		ck_assert_msg(tftp_split_hostport(cases[i].in, host,
						  sizeof(host), &port,
						  69) == 0,
			      "'%s' refused", cases[i].in);
		ck_assert_str_eq(host, cases[i].host);
		ck_assert_uint_eq(port, cases[i].port);
	}
}
END_TEST

START_TEST(hostport_bad)
{
	static const char *const bad[] = {
		"",           "host:",       "host:0",    "host:65536",
		"host:-1",    "host:+69",    "host:6a",   "host: 69",
		"host:999999", "[::1",       "[]",        "[]:69",
		"[::1]69",    "[::1]:",      "[::1]:0",   "[::1]:x",
		"a]:69",      "a[b",         ":",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char host[64];
		uint16_t port = 0;
		ck_assert_msg(tftp_split_hostport(bad[i], host, sizeof(host),
						  &port, 69) == -1,
			      "'%s' accepted", bad[i]);
	}
	char host[64];
	uint16_t port;
	ck_assert_int_eq(tftp_split_hostport(NULL, host, sizeof(host), &port,
					     69),
			 -1);
}
END_TEST

START_TEST(hostport_capacity)
{
	char host[5];
	uint16_t port;
	ck_assert_int_eq(tftp_split_hostport("abcd:1", host, sizeof(host),
					     &port, 69),
			 0);
	ck_assert_str_eq(host, "abcd");
	ck_assert_int_eq(tftp_split_hostport("abcde:1", host, sizeof(host),
					     &port, 69),
			 -1);
	ck_assert_int_eq(tftp_split_hostport("[abcde]", host, sizeof(host),
					     &port, 69),
			 -1);
	ck_assert_int_eq(tftp_split_hostport("abcde", host, sizeof(host),
					     &port, 69),
			 -1);
}
END_TEST

START_TEST(port_range)
{
	uint16_t lo = 0, hi = 0;
	ck_assert_int_eq(tftp_parse_port_range("1:65535", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 1);
	ck_assert_uint_eq(hi, 65535);
	ck_assert_int_eq(tftp_parse_port_range("40000:40000", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 40000);
	ck_assert_uint_eq(hi, 40000);
	static const char *const bad[] = {
		"",      "1",        "1:",      ":2",     "0:10",
		"10:9",  "1:65536",  "a:b",     "1:2:3",  " 1:2",
		"1:2 ",  "-1:2",     "1-2",     "70000:70001",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lo = hi = 7;
		ck_assert_msg(tftp_parse_port_range(bad[i], &lo, &hi) == -1,
			      "'%s' accepted", bad[i]);
		ck_assert_uint_eq(lo, 7);
		ck_assert_uint_eq(hi, 7);
	}
	ck_assert_int_eq(tftp_parse_port_range(NULL, &lo, &hi), -1);
}
END_TEST

static struct sockaddr_in v4(const char *addr, uint16_t port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, addr, &s.sin_addr), 1);
	return s;
}

static struct sockaddr_in6 v6(const char *addr, uint16_t port)
{
	struct sockaddr_in6 s;
	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	s.sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, addr, &s.sin6_addr), 1);
	return s;
}

START_TEST(sockaddr_text)
{
	char buf[64];
	struct sockaddr_in a = v4("1.2.3.4", 69);
	struct sockaddr_in6 b = v6("::1", 6969);
	ck_assert_str_eq(tftp_sockaddr_str((struct sockaddr *)&a, buf,
					   sizeof(buf)),
			 "1.2.3.4:69");
	ck_assert_str_eq(tftp_sockaddr_str((struct sockaddr *)&b, buf,
					   sizeof(buf)),
			 "[::1]:6969");
	b = v6("2001:db8::ff00:42:8329", 65535);
	ck_assert_str_eq(tftp_sockaddr_str((struct sockaddr *)&b, buf,
					   sizeof(buf)),
			 "[2001:db8::ff00:42:8329]:65535");
	b = v6("fe80::1", 1);
	b.sin6_scope_id = 3;
	ck_assert_str_eq(tftp_sockaddr_str((struct sockaddr *)&b, buf,
					   sizeof(buf)),
			 "[fe80::1%3]:1");
	/* Truncated, always terminated. */
	ck_assert_str_eq(tftp_sockaddr_str((struct sockaddr *)&a, buf, 5),
			 "1.2.");
	ck_assert_str_eq(tftp_sockaddr_str((struct sockaddr *)&a, buf, 1), "");
	/* An unknown family still gives a string. */
	struct sockaddr_storage u;
	memset(&u, 0, sizeof(u));
	u.ss_family = AF_UNIX;
	ck_assert_uint_gt(strlen(tftp_sockaddr_str((struct sockaddr *)&u, buf,
						   sizeof(buf))),
			  0);
}
END_TEST

START_TEST(sockaddr_compare)
{
	struct sockaddr_in a = v4("10.0.0.1", 1000);
	struct sockaddr_in b = v4("10.0.0.1", 1001);
	struct sockaddr_in c = v4("10.0.0.2", 1000);
	struct sockaddr_in6 d = v6("::ffff:10.0.0.1", 1000);
	struct sockaddr_in6 e = v6("::ffff:10.0.0.1", 1000);
	const struct sockaddr *A = (struct sockaddr *)&a,
			      *B = (struct sockaddr *)&b,
			      *C = (struct sockaddr *)&c,
			      *D = (struct sockaddr *)&d,
			      *E = (struct sockaddr *)&e;
	ck_assert(tftp_sockaddr_equal(A, A));
	ck_assert(!tftp_sockaddr_equal(A, B));
	ck_assert(tftp_sockaddr_same_host(A, B));
	ck_assert(!tftp_sockaddr_same_host(A, C));
	ck_assert(!tftp_sockaddr_same_host(A, D)); /* families differ */
	ck_assert(tftp_sockaddr_equal(D, E));
	e.sin6_port = htons(1);
	ck_assert(!tftp_sockaddr_equal(D, E));
	ck_assert(tftp_sockaddr_same_host(D, E));
	e.sin6_scope_id = 2;
	ck_assert(!tftp_sockaddr_same_host(D, E));
}
END_TEST

START_TEST(sockaddr_port_len)
{
	struct sockaddr_in a = v4("127.0.0.1", 69);
	struct sockaddr_in6 b = v6("::1", 69);
	ck_assert_uint_eq(tftp_sockaddr_port((struct sockaddr *)&a), 69);
	ck_assert_uint_eq(tftp_sockaddr_port((struct sockaddr *)&b), 69);
	tftp_sockaddr_set_port((struct sockaddr *)&a, 65535);
	tftp_sockaddr_set_port((struct sockaddr *)&b, 40001);
	ck_assert_uint_eq(ntohs(a.sin_port), 65535);
	ck_assert_uint_eq(ntohs(b.sin6_port), 40001);
	ck_assert_uint_eq(tftp_sockaddr_port((struct sockaddr *)&b), 40001);
	ck_assert_uint_eq(tftp_sockaddr_len((struct sockaddr *)&a),
			  sizeof(struct sockaddr_in));
	ck_assert_uint_eq(tftp_sockaddr_len((struct sockaddr *)&b),
			  sizeof(struct sockaddr_in6));
	struct sockaddr_storage u;
	memset(&u, 0, sizeof(u));
	u.ss_family = AF_UNIX;
	ck_assert_uint_eq(tftp_sockaddr_len((struct sockaddr *)&u), 0);
	ck_assert_uint_eq(tftp_sockaddr_port((struct sockaddr *)&u), 0);
}
END_TEST

static Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("text");
	tcase_add_test(tc, hostport_good);
	tcase_add_test(tc, hostport_bad);
	tcase_add_test(tc, hostport_capacity);
	tcase_add_test(tc, port_range);
	suite_add_tcase(s, tc);
	tc = tcase_create("sockaddr");
	tcase_add_test(tc, sockaddr_text);
	tcase_add_test(tc, sockaddr_compare);
	tcase_add_test(tc, sockaddr_port_len);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(net_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
