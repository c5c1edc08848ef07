/* --windows-names: what Windows boot loaders and their admins expect of a
 * TFTP server. Names come with backslashes and a drive ("C:\Boot\BCD")
 * and in any case ("\boot\bcd" for a file stored as Boot/BCD); a
 * Windows-hosted server finds them all.
 *
 * winname_normalize is a pure string function; ci_resolve looks a cleaned
 * name up again component by component regardless of case, from listings
 * of the directories it passes through, cached per directory and read
 * again only when the directory's modification time changes: a storm of
 * PXE clients asking for the same wrongly-cased name costs one fstat per
 * directory each, not a scan. */
#ifndef TFTPD_WINNAMES_H
#define TFTPD_WINNAMES_H

#include <stddef.h>

struct fsroot;
struct ci_cache;

/* in, as a Windows client writes it, into out (cap bytes): every '\' a
 * '/', a leading drive letter and colon dropped ("C:\x" is "/x"). The
 * result is cleaned as any name afterwards. Returns 0, or -1 if it does
 * not fit. */
int winname_normalize(const char *in, char *out, size_t cap);

struct ci_cache *ci_cache_new(void);
void ci_cache_free(struct ci_cache *c);

/* The name under which clean exists beneath r when case is ignored, into
 * out (cap bytes): each component matched exactly where it exists, else
 * the first (in byte order) that matches regardless of ASCII case.
 * Returns 0, or -1 if there is none. */
int ci_resolve(struct ci_cache *c, struct fsroot *r, const char *clean,
	       char *out, size_t cap);

#endif
