/* See errmap.h. */
#include "errmap.h"

#include <errno.h>
#include <stdio.h>

static void set(struct tftp_err *err, uint16_t code, const char *msg)
{
	err->code = code;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
}

void tftp_err_from_errno(int e, const char *fallback, struct tftp_err *err)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		set(err, TFTP_ERR_NOTFOUND, "File not found");
		break;
	case EXDEV:  /* openat2: the name resolves outside the root */
	case ELOOP:  /* a symlink we will not follow, or a loop */
	case EACCES:
	case EPERM:
	case EISDIR:
	case ENAMETOOLONG:
		set(err, TFTP_ERR_ACCESS, "Access violation");
		break;
	case EROFS:
		set(err, TFTP_ERR_ACCESS, "Read-only file system");
		break;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		set(err, TFTP_ERR_NOSPACE, "Disk full or allocation exceeded");
		break;
	case EEXIST:
		set(err, TFTP_ERR_EXISTS, "File already exists");
		break;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case ENOBUFS:
		/* Transient: the client may well succeed a moment later. */
		set(err, TFTP_ERR_UNDEF, "Out of resources, try again later");
		break;
	case EADDRINUSE: /* no free transfer port */
		set(err, TFTP_ERR_UNDEF, "server busy");
		break;
	default:
		set(err, TFTP_ERR_UNDEF, fallback);
		break;
	}
}

void tftp_err_set(struct tftp_err *err, uint16_t code, const char *msg,
		  const char *why)
{
	err->code = code;
	err->why = why;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
}
