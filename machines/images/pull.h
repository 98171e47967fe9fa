/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "machines/images/archive.h"

/* Downloads for pull-tar/pull-raw (libcurl) and their verification: SHA256SUMS beside the file,
 * and its detached signature SHA256SUMS.gpg checked by gpgv. Nothing here prints. */

#define PULL_KEYRING_DEFAULT "/etc/nspawnlite/import-pubring.gpg"
#define SHA256_SIZE          32

typedef enum {
        PULL_VERIFY_NO,
        PULL_VERIFY_CHECKSUM,
        PULL_VERIFY_SIGNATURE,
} PullVerify;

/* The bounds of a download: connect timeout, and the transfer is aborted when it runs slower than
 * low_speed_limit bytes/s for low_speed_time seconds (a server that accepts and never answers too). */
typedef struct {
        long connect_timeout_sec;
        long low_speed_limit;
        long low_speed_time_sec;
} PullLimits;

/* Load libcrypto and libcurl (once); -EOPNOTSUPP when one is not installed. pull_download() calls
 * it itself. */
int pull_dlopen(void);

/* The defaults (30 s; below 1 KiB/s for 30 s), each overridable from the environment:
 * NSPAWNLITE_PULL_CONNECT_TIMEOUT_SEC, NSPAWNLITE_PULL_LOW_SPEED_LIMIT,
 * NSPAWNLITE_PULL_LOW_SPEED_TIME_SEC (positive integers; others are ignored). */
void pull_limits_from_env(PullLimits *ret);

/* "no", "checksum", "signature"; -EINVAL otherwise. */
int pull_verify_from_string(const char *s, PullVerify *ret);

/* The keyring gpgv checks against: $NSPAWNLITE_IMPORT_KEYRING, else PULL_KEYRING_DEFAULT. */
const char *pull_keyring(void);

/* Whether url is one we fetch: http:// or https://, with a host and a file name. Pure. */
int pull_url_check(const char *url);
/* The URL of name in the same directory as url (its query and fragment dropped). Pure. */
int pull_url_sibling(const char *url, const char *name, char **ret);
/* The last path component of url (no query or fragment), percent-escapes left as they are. Pure. */
int pull_url_file_name(const char *url, char **ret);
/* url as it may be shown: a user and password before the host ("http://user:pw@host/…") become
 * "***", whatever the scheme. Pure. */
int pull_url_redact(const char *url, char **ret);

/* Look file_name up in the text of a SHA256SUMS file ("HEX  NAME" or "HEX *NAME" lines, as
 * sha256sum writes them). -ENOENT when it is not listed, -EBADMSG when its line is malformed. Pure. */
int pull_sums_find(const char *sums, size_t n, const char *file_name, uint8_t ret[SHA256_SIZE]);

/* Download url into out_fd (at its position) within the limits, returning the SHA-256 of what was
 * written. -ENOENT for an HTTP 404, -EPROTO for other HTTP errors, -ETIMEDOUT when a bound cut it
 * off, -ECONNREFUSED/-EHOSTUNREACH when no server answered, -EIO otherwise; ret_error (n bytes)
 * says what curl said. */
int pull_download(const char *url, int out_fd, size_t max_bytes, const PullLimits *limits,
                  const ArchiveProgress *progress, uint8_t ret_sha256[SHA256_SIZE], char *ret_error,
                  size_t n);

/* Run gpgv against keyring on the detached signature sig_fd of the data in data_fd. 0 when good,
 * -EBADMSG when the signature is bad or made by a key not in the keyring, -ENOENT when gpgv or the
 * keyring is missing. */
int pull_gpgv(const char *keyring, int data_fd, int sig_fd);
