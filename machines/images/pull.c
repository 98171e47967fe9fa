/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/images/pull.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/log.h"
#include "nspawnlite/basic/dlopen-util.h"
#include "nspawnlite/basic/macro.h"

static __typeof__(curl_easy_cleanup) *sym_curl_easy_cleanup;
static __typeof__(curl_easy_getinfo) *sym_curl_easy_getinfo;
static __typeof__(curl_easy_init) *sym_curl_easy_init;
static __typeof__(curl_easy_perform) *sym_curl_easy_perform;
static __typeof__(curl_easy_setopt) *sym_curl_easy_setopt;
static __typeof__(curl_easy_strerror) *sym_curl_easy_strerror;

static void *curl_handle;
static const DlSymbol curl_symbols[] = {
        DL_SYMBOL(curl_easy_cleanup), DL_SYMBOL(curl_easy_getinfo), DL_SYMBOL(curl_easy_init),
        DL_SYMBOL(curl_easy_perform), DL_SYMBOL(curl_easy_setopt),  DL_SYMBOL(curl_easy_strerror),
};

static __typeof__(EVP_DigestFinal_ex) *sym_EVP_DigestFinal_ex;
static __typeof__(EVP_DigestInit_ex) *sym_EVP_DigestInit_ex;
static __typeof__(EVP_DigestUpdate) *sym_EVP_DigestUpdate;
static __typeof__(EVP_MD_CTX_free) *sym_EVP_MD_CTX_free;
static __typeof__(EVP_MD_CTX_new) *sym_EVP_MD_CTX_new;
static __typeof__(EVP_sha256) *sym_EVP_sha256;

static void *crypto_handle;
static const DlSymbol crypto_symbols[] = {
        DL_SYMBOL(EVP_DigestFinal_ex), DL_SYMBOL(EVP_DigestInit_ex), DL_SYMBOL(EVP_DigestUpdate),
        DL_SYMBOL(EVP_MD_CTX_free),    DL_SYMBOL(EVP_MD_CTX_new),    DL_SYMBOL(EVP_sha256),
};

int pull_dlopen(void) {
        int r = dlopen_symbols(&crypto_handle, SONAME_CRYPTO, crypto_symbols, ELEMENTSOF(crypto_symbols));
        if (r < 0)
                return r;
        r = dlopen_symbols(&curl_handle, SONAME_CURL, curl_symbols, ELEMENTSOF(curl_symbols));
        if (r < 0) /* Debian's other flavour */
                r = dlopen_symbols(&curl_handle, SONAME_CURL_GNUTLS, curl_symbols, ELEMENTSOF(curl_symbols));
        return r;
}

static const struct {
        const char *env;
        size_t offset;
        long def;
} limit_table[] = {
        { "NSPAWNLITE_PULL_CONNECT_TIMEOUT_SEC", offsetof(PullLimits, connect_timeout_sec), 30 },
        { "NSPAWNLITE_PULL_LOW_SPEED_LIMIT", offsetof(PullLimits, low_speed_limit), 1024 },
        { "NSPAWNLITE_PULL_LOW_SPEED_TIME_SEC", offsetof(PullLimits, low_speed_time_sec), 30 },
};

void pull_limits_from_env(PullLimits *ret) {
        for (size_t i = 0; i < ELEMENTSOF(limit_table); i++) {
                long v = limit_table[i].def;
                const char *s = getenv(limit_table[i].env);
                if (s && *s) {
                        char *end;
                        errno = 0;
                        long l = strtol(s, &end, 10);
                        if (errno == 0 && *end == 0 && l > 0 && l <= 86400L * 365)
                                v = l;
                }
                *(long *) ((char *) ret + limit_table[i].offset) = v;
        }
}

static const char *const verify_names[] = {
        [PULL_VERIFY_NO] = "no",
        [PULL_VERIFY_CHECKSUM] = "checksum",
        [PULL_VERIFY_SIGNATURE] = "signature",
};

int pull_verify_from_string(const char *s, PullVerify *ret) {
        for (size_t i = 0; i < ELEMENTSOF(verify_names); i++)
                if (strcmp(s, verify_names[i]) == 0) {
                        *ret = (PullVerify) i;
                        return 0;
                }
        return -EINVAL;
}

const char *pull_keyring(void) {
        const char *k = getenv("NSPAWNLITE_IMPORT_KEYRING");
        return k && *k ? k : PULL_KEYRING_DEFAULT;
}

/* Where the path of an http(s) URL starts (its first '/' after the host), or NULL. */
static const char *url_path(const char *url) {
        const char *rest;
        if (strncmp(url, "http://", 7) == 0)
                rest = url + 7;
        else if (strncmp(url, "https://", 8) == 0)
                rest = url + 8;
        else
                return NULL;
        size_t host = strcspn(rest, "/?#");
        if (host == 0 || rest[host] != '/')
                return NULL;
        return rest + host;
}

int pull_url_check(const char *url) {
        const char *path = url_path(url);
        if (!path)
                return -EINVAL;
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return -EINVAL;
        size_t n = strcspn(path, "?#");
        if (n == 0 || path[n - 1] == '/')
                return -EINVAL;
        return 0;
}

int pull_url_redact(const char *url, char **ret) {
        const char *scheme = strstr(url, "://");
        const char *auth = scheme ? scheme + 3 : url;
        size_t host = strcspn(auth, "/?#");
        const char *at = memrchr(auth, '@', host);
        char *s;
        if (at ? asprintf(&s, "%.*s***%s", (int) (auth - url), url, at) < 0 : !(s = strdup(url)))
                return -ENOMEM;
        *ret = s;
        return 0;
}

int pull_url_sibling(const char *url, const char *name, char **ret) {
        const char *path = url_path(url);
        if (!path)
                return -EINVAL;
        size_t n = (size_t) (path - url) + strcspn(path, "?#");
        while (url[n - 1] != '/')
                n--;
        char *s;
        if (asprintf(&s, "%.*s%s", (int) n, url, name) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int pull_url_file_name(const char *url, char **ret) {
        const char *path = url_path(url);
        if (!path)
                return -EINVAL;
        size_t n = strcspn(path, "?#");
        size_t start = n;
        while (start > 0 && path[start - 1] != '/')
                start--;
        if (start == n)
                return -EINVAL;
        char *s = strndup(path + start, n - start);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int pull_sums_find(const char *sums, size_t n, const char *file_name, uint8_t ret[SHA256_SIZE]) {
        size_t want = strlen(file_name);
        for (size_t pos = 0; pos < n;) {
                const char *line = sums + pos;
                const char *nl = memchr(line, '\n', n - pos);
                size_t len = nl ? (size_t) (nl - line) : n - pos;
                pos += len + 1;
                if (len > 0 && line[len - 1] == '\r')
                        len--;
                /* "HEX" then a space, then ' ' (text) or '*' (binary), then the name. */
                if (len < 2 * SHA256_SIZE + 2 + 1)
                        continue;
                const char *name = line + 2 * SHA256_SIZE + 2;
                size_t name_len = len - (2 * SHA256_SIZE + 2);
                if (name_len > 2 && name[0] == '.' && name[1] == '/') {
                        name += 2;
                        name_len -= 2;
                }
                if (name_len != want || memcmp(name, file_name, want) != 0)
                        continue;
                if (line[2 * SHA256_SIZE] != ' ' || !strchr(" *", line[2 * SHA256_SIZE + 1]))
                        return -EBADMSG;
                uint8_t sum[SHA256_SIZE];
                for (size_t i = 0; i < SHA256_SIZE; i++) {
                        int hi = unhex(line[2 * i]), lo = unhex(line[2 * i + 1]);
                        if (hi < 0 || lo < 0)
                                return -EBADMSG;
                        sum[i] = (uint8_t) (hi << 4 | lo);
                }
                memcpy(ret, sum, SHA256_SIZE);
                return 0;
        }
        return -ENOENT;
}

typedef struct {
        int fd;
        EVP_MD_CTX *md;
        uint64_t written;
        size_t max_bytes;
        int error;
        const ArchiveProgress *progress;
} Download;

static size_t download_write(char *data, size_t size, size_t nmemb, void *userdata) {
        Download *d = userdata;
        size_t n = size * nmemb;
        if (d->max_bytes > 0 && d->written + n > d->max_bytes) {
                d->error = -EFBIG;
                return 0;
        }
        int r = loop_write(d->fd, data, n);
        if (r < 0) {
                d->error = r;
                return 0;
        }
        if (sym_EVP_DigestUpdate(d->md, data, n) != 1) {
                d->error = -EIO;
                return 0;
        }
        d->written += n;
        return n;
}

static int download_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow) {
        Download *d = userdata;
        if (d->progress && d->progress->func) {
                int r = d->progress->func(d->progress->userdata, (uint64_t) dlnow,
                                          (uint64_t) (dltotal > 0 ? dltotal : 0));
                if (r < 0) {
                        d->error = r;
                        return 1; /* curl stops: CURLE_ABORTED_BY_CALLBACK */
                }
        }
        return 0;
}

static void curl_easy_cleanupp(CURL **c) {
        if (*c)
                sym_curl_easy_cleanup(*c);
}

static void evp_md_ctx_freep(EVP_MD_CTX **m) {
        if (*m)
                sym_EVP_MD_CTX_free(*m);
}

static int curl_setup(CURL *c, const char *url, const PullLimits *l, Download *d, char *errbuf) {
        /* Only http(s), also after a redirect: never file:// or anything else a server could name. */
        if (sym_curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_USERAGENT, "nspawnlite/" NSPAWNLITE_VERSION) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, l->connect_timeout_sec) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, l->low_speed_limit) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, l->low_speed_time_sec) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, download_write) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_WRITEDATA, d) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, download_progress) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_XFERINFODATA, d) != CURLE_OK ||
            sym_curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK)
                return -EOPNOTSUPP;
        return 0;
}

static int curl_error_to_errno(CURL *c, CURLcode code, const Download *d) {
        long status = 0;
        switch (code) {
        case CURLE_HTTP_RETURNED_ERROR:
                (void) sym_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                return status == 404 || status == 410 ? -ENOENT : -EPROTO;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_WRITE_ERROR:
        case CURLE_ABORTED_BY_CALLBACK:
                return d->error < 0 ? d->error : -EIO;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        default:
                return -EIO;
        }
}

int pull_download(const char *url, int out_fd, size_t max_bytes, const PullLimits *limits,
                  const ArchiveProgress *progress, uint8_t ret_sha256[SHA256_SIZE], char *ret_error,
                  size_t n) {
        if (pull_dlopen() < 0)
                return -EOPNOTSUPP;
        _cleanup_(curl_easy_cleanupp) CURL *c = sym_curl_easy_init();
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *md = sym_EVP_MD_CTX_new();
        if (!c || !md)
                return -ENOMEM;
        if (sym_EVP_DigestInit_ex(md, sym_EVP_sha256(), NULL) != 1)
                return -EOPNOTSUPP;
        char errbuf[CURL_ERROR_SIZE] = "";
        Download d = { .fd = out_fd, .md = md, .max_bytes = max_bytes, .progress = progress };
        int r = curl_setup(c, url, limits, &d, errbuf);
        if (r < 0)
                return r;
        CURLcode code = sym_curl_easy_perform(c);
        if (code != CURLE_OK) {
                if (ret_error)
                        snprintf(ret_error, n, "%s", *errbuf ? errbuf : sym_curl_easy_strerror(code));
                return curl_error_to_errno(c, code, &d);
        }
        unsigned len = 0;
        uint8_t sum[EVP_MAX_MD_SIZE];
        if (sym_EVP_DigestFinal_ex(md, sum, &len) != 1 || len != SHA256_SIZE)
                return -EIO;
        memcpy(ret_sha256, sum, SHA256_SIZE);
        return 0;
}

/* The child side of pull_gpgv(): the data on fd 3, the signature on fd 4, named by /dev/fd. */
static _noreturn_ void gpgv_exec(const char *keyring, int data_fd, int sig_fd) {
        int d = fcntl(data_fd, F_DUPFD_CLOEXEC, 10), s = fcntl(sig_fd, F_DUPFD_CLOEXEC, 10);
        if (d < 0 || s < 0 || dup2(d, 3) < 0 || dup2(s, 4) < 0)
                _exit(127);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
                _exit(127);
        /* gpgv's own words go to stderr only when tracing: the verb says in one line what failed. */
        if (log_get_max_level() < LOG_DEBUG && dup2(null, STDERR_FILENO) < 0)
                _exit(127);
        const int keep[] = { 3, 4 };
        (void) close_all_fds_except(keep, ELEMENTSOF(keep));
        execlp("gpgv", "gpgv", "--quiet", "--keyring", keyring, "/dev/fd/4", "/dev/fd/3", (char *) NULL);
        _exit(127);
}

int pull_gpgv(const char *keyring, int data_fd, int sig_fd) {
        if (access(keyring, R_OK) < 0)
                return -ENOENT;
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                gpgv_exec(keyring, data_fd, sig_fd);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return -ENOENT;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EBADMSG;
}
