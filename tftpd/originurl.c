/* See originurl.h. */
#include "originurl.h"

#include <string.h>

struct out {
	char *p;
	size_t cap, len;
	int full;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 >= o->cap) {
		o->full = 1;
		return;
	}
	o->p[o->len++] = c;
}

/* RFC 3986's unreserved characters and '/' (the name's directories)
 * stay; every other byte is %XX, so nothing in a name can add a query,
 * a fragment or a ".." the origin would see. */
static void put_encoded(struct out *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~' || c == '/') {
			put(o, (char)c);
			continue;
		}
		put(o, '%');
		put(o, hex[c >> 4]);
		put(o, hex[c & 15]);
	}
}

static int starts(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

enum origin_url_result origin_url(const char *tmpl, const char *name,
				  const char *ip, const char *mac, char *out,
				  size_t cap)
{
	struct out o = {.p = out, .cap = cap};
	int had_file = 0;
	if (cap == 0)
		return ORIGIN_URL_TOO_LONG;
	for (const char *t = tmpl; *t;) {
		if (starts(t, "{file}")) {
			put_encoded(&o, name);
			had_file = 1;
			t += 6;
		} else if (starts(t, "{ip}")) {
			put_encoded(&o, ip ? ip : "");
			t += 4;
		} else if (starts(t, "{mac}")) {
			if (!mac)
				return ORIGIN_URL_NO_MAC;
			put_encoded(&o, mac);
			t += 5;
		} else {
			put(&o, *t++);
		}
	}
	if (!had_file) {
		if (o.len == 0 || o.p[o.len - 1] != '/')
			put(&o, '/');
		put_encoded(&o, name);
	}
	o.p[o.len] = '\0';
	return o.full ? ORIGIN_URL_TOO_LONG : ORIGIN_URL_OK;
}
