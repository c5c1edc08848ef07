/* The served tree: every file the server opens or creates is resolved
 * beneath one directory descriptor, never by a path string from the root of
 * the file system.
 *
 * Names from the network are first cleaned (fsroot_clean_name) and then
 * resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), or, where
 * the kernel has no openat2, by walking the components with openat(O_PATH |
 * O_NOFOLLOW), which follows no symlink at all. Either way a name can never
 * reach outside the root, whatever the tree contains or how it changes
 * while requests are in flight.
 *
 * Uploads are written to an unnamed O_TMPFILE (or a hidden temporary name)
 * in the target directory and get their final name only at commit, so a
 * cut-off upload never shows up under its name.
 */
#ifndef TFTPD_FSROOT_H
#define TFTPD_FSROOT_H

#include <stdint.h>
#include <sys/stat.h>

#include "xfer.h" /* struct tftp_err */

/* Prefix of the hidden temporary files; names using it are refused so a
 * client can neither read nor overwrite an upload in progress. */
#define FSROOT_TMP_PREFIX ".tftpd-"

enum fsroot_link {
	FSROOT_LINK_NONE = 0,   /* no O_TMPFILE: hidden temporary names */
	FSROOT_LINK_EMPTY_PATH, /* linkat(fd, "", AT_EMPTY_PATH) */
	FSROOT_LINK_PROC,       /* linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW) */
};

struct fsroot {
	int dirfd;                /* the root, O_PATH | O_DIRECTORY */
	int use_openat2;          /* 0 after ENOSYS (or forced off) */
	enum fsroot_link link;    /* how O_TMPFILE uploads get their name */
	/* tftp-hpa's model, unless -p: only files readable by others are
	 * served, only files writable by others are overwritten. */
	int permissive;
	/* tftp-hpa without -c: an upload may only replace an existing file
	 * (a new name gets ERROR 1). */
	int no_create;
	/* Where an upload over a file in a directory the server may not
	 * write to is spooled ($TMPDIR or /tmp, opened at start-up so a
	 * chroot does not lose it); -1: a memfd instead. */
	int spooldir;
};

/* Open the root directory. Returns 0 or -1 with errno set. The environment
 * variable TFTPD_NO_OPENAT2=1 forces the component walk (for tests). */
int fsroot_init(struct fsroot *r, const char *path);
/* After the privilege drop: can the server's user enter the root? 0, or
 * -1 with errno set. */
int fsroot_check_enter(const struct fsroot *r);
void fsroot_fini(struct fsroot *r);

/* Find out whether O_TMPFILE files can be linked into the root (it depends
 * on privileges and on /proc being mounted, so call it after chroot and the
 * privilege drop). TFTPD_NO_TMPFILE=1 forces hidden temporary names. */
void fsroot_probe_tmpfile(struct fsroot *r);

/* Remove temporary upload files (".tftpd-<pid>-...") below the root whose
 * process is gone, e.g. after a SIGKILL; bounded (a million entries,
 * depth 16). Returns how many were removed. */
unsigned fsroot_clean_stale(const struct fsroot *r);

/* Turn a requested name into a path relative to the root: leading and
 * repeated slashes and "." components go; "..", control characters, the
 * temporary prefix and an empty result are refused (ERROR 2 in *err).
 * Returns 0 or -1. out needs strlen(in) + 2 bytes. */
int fsroot_clean_name(const char *in, char *out, size_t cap,
		      struct tftp_err *err);

/* Open a cleaned name for reading. Only regular files: a FIFO, device,
 * socket, directory or symlink leaving the root is refused without being
 * opened for I/O. Returns the descriptor (O_RDONLY | O_NONBLOCK) with *st
 * filled, or -1 with the TFTP error to send in *err. */
int fsroot_open_read(struct fsroot *r, const char *clean, struct stat *st,
		     struct tftp_err *err);

/* Open a cleaned directory name ("" for the root itself) for reading its
 * entries, confined like any name. Returns the descriptor or -1 (errno). */
int fsroot_open_dir(struct fsroot *r, const char *clean);

/* Create the missing directories of a cleaned name's directory part
 * (--mkdir), one component at a time beneath the root, with mode 0777
 * less the umask. Returns 0 (also if nothing was missing), or -1 with the
 * TFTP error in *err. */
int fsroot_make_dirs(struct fsroot *r, const char *clean, struct tftp_err *err);

struct fsupload {
	int dirfd;          /* the directory the file goes in (O_PATH) */
	int fd;             /* the data */
	/* Replacing a file whose directory is not writable (a switch's
	 * pre-created, world-writable config backup): fd is a spool and
	 * target the file itself, written in place only at commit. */
	int target;
	/* Replacing an existing file: its mode and owner, carried over. */
	int have_old;
	mode_t old_mode;
	uid_t old_uid;
	gid_t old_gid;
	int named;          /* fd has the hidden name tmpname (no O_TMPFILE) */
	int committed;
	char tmpname[40];
	const char *base;   /* final name's last component (caller's storage) */
};

/* Prepare an upload of a cleaned name. Refuses (into *err): a directory
 * part that is missing or leaves the root, an existing non-regular file
 * (ERROR 2), an existing file without overwrite (ERROR 6), an expected size
 * `need` (0: unknown) above the free space (ERROR 3). clean must outlive
 * the upload. Returns 0 or -1. */
int fsroot_upload_begin(struct fsroot *r, const char *clean, int overwrite,
			uint64_t need, struct fsupload *u, struct tftp_err *err);
/* Give the data its final name, atomically. Without overwrite an existing
 * file is never replaced (ERROR 6, also if one appeared meanwhile). */
int fsroot_upload_commit(struct fsroot *r, struct fsupload *u, int overwrite,
			 struct tftp_err *err);
/* Close everything; an uncommitted upload leaves nothing behind. Safe to
 * call more than once. */
void fsroot_upload_discard(struct fsupload *u);

/* Fill *err from an errno of a lookup or open (ENOENT -> 1, an escape or a
 * refused symlink -> 2, out of descriptors or memory -> 0, ...). */
void fsroot_errno_to_tftp(int e, struct tftp_err *err);

#endif
