/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "machines/images/create.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "nspawnlite/basic/fd-util.h"
#include "nspawnlite/basic/macro.h"
#include "nspawnlite/basic/process-util.h"
#include "nspawnlite/basic/strv.h"

static const char *const releases[] = { "bullseye", "bookworm", "trixie", "sid" };

bool create_release_is_known(const char *release) {
        for (size_t i = 0; i < ELEMENTSOF(releases); i++)
                if (strcmp(release, releases[i]) == 0)
                        return true;
        return false;
}

bool create_package_name_is_valid(const char *name) {
        if (strlen(name) < 2 || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", name[0]))
                return false;
        return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789+.-") == strlen(name);
}

static bool uri_is_security(const char *uri) {
        return strstr(uri, "security") != NULL;
}

/* One-line format: "deb [options] URI SUITE COMPONENT…". */
static int mirror_one_line(const char *line, char **ret) {
        char type[16], uri[1024];
        const char *p = line + strspn(line, " \t");
        if (sscanf(p, "%15s", type) != 1 || strcmp(type, "deb") != 0)
                return -ENOENT;
        p += 3;
        p += strspn(p, " \t");
        if (*p == '[') { /* options */
                p = strchr(p, ']');
                if (!p)
                        return -ENOENT;
                p++;
        }
        if (sscanf(p, "%1023s", uri) != 1 || !strstr(uri, "://") || uri_is_security(uri))
                return -ENOENT;
        *ret = strdup(uri);
        return *ret ? 0 : -ENOMEM;
}

/* deb822: the first URI of a stanza whose Types has "deb"; a stanza ends at an empty line or at the
 * end of the text. */
static int mirror_deb822(const char *text, char **ret) {
        bool deb = false;
        char uri[1024] = "";
        for (const char *l = text;; l += strcspn(l, "\n") + 1) {
                size_t n = strcspn(l, "\n");
                bool blank = n == strspn(l, " \t");
                if (!blank && strncasecmp(l, "Types:", 6) == 0) {
                        for (const char *w = l + 6; w < l + n; w++)
                                if (strncmp(w, "deb", 3) == 0 && strchr(" \t\n", w[3]) &&
                                    strchr(" \t:", w[-1]))
                                        deb = true;
                } else if (!blank && strncasecmp(l, "URIs:", 5) == 0 && sscanf(l + 5, "%1023s", uri) != 1)
                        uri[0] = 0;
                if (blank || !l[n]) {
                        if (deb && uri[0] && !uri_is_security(uri)) {
                                *ret = strdup(uri);
                                return *ret ? 0 : -ENOMEM;
                        }
                        deb = false;
                        uri[0] = 0;
                }
                if (!l[n])
                        return -ENOENT;
        }
}

int apt_sources_mirror(const char *text, bool deb822, char **ret) {
        if (deb822)
                return mirror_deb822(text, ret);
        for (const char *l = text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                char line[2048];
                size_t n = strcspn(l, "\n");
                if (n >= sizeof line)
                        continue;
                memcpy(line, l, n);
                line[n] = 0;
                int r = mirror_one_line(line, ret);
                if (r != -ENOENT)
                        return r;
        }
        return -ENOENT;
}

static int mirror_from_file(int dirfd, const char *path, bool deb822, char **ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dirfd, path, 1 << 20, &text);
        if (r < 0)
                return r == -ENOENT ? r : -ENOENT; /* an unreadable file names no mirror */
        return apt_sources_mirror(text, deb822, ret);
}

static int filter_sources(const struct dirent *de) {
        size_t n = strlen(de->d_name);
        return de->d_name[0] != '.' && ((n > 5 && strcmp(de->d_name + n - 5, ".list") == 0) ||
                                        (n > 8 && strcmp(de->d_name + n - 8, ".sources") == 0));
}

int apt_host_mirror(char **ret) {
        int r = mirror_from_file(AT_FDCWD, "/etc/apt/sources.list", false, ret);
        if (r != -ENOENT)
                return r;
        struct dirent **de = NULL;
        int n = scandir("/etc/apt/sources.list.d", &de, filter_sources, alphasort);
        r = -ENOENT;
        for (int i = 0; i < n; i++) {
                if (r == -ENOENT) {
                        char path[PATH_MAX];
                        snprintf(path, sizeof path, "/etc/apt/sources.list.d/%s", de[i]->d_name);
                        size_t l = strlen(path);
                        r = mirror_from_file(AT_FDCWD, path, l > 8 && strcmp(path + l - 8, ".sources") == 0,
                                             ret);
                }
                free(de[i]);
        }
        free(de);
        return r;
}

/* The host's apt settings that decide whether the archive can be fetched at all: a mirror that is a
 * snapshot has Release files past their Valid-Until, a proxy may be the only way out. */
static const char *const apt_carried_options[] = {
        "Acquire::Check-Valid-Until",
        "Acquire::Check-Date",
        "Acquire::http::Proxy",
        "Acquire::https::Proxy",
};

int apt_config_options(const char *dump, char ***ret) {
        _cleanup_strv_free_ char **opts = NULL;
        for (const char *l = dump; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                size_t n = strcspn(l, "\n");
                for (size_t i = 0; i < ELEMENTSOF(apt_carried_options); i++) {
                        size_t k = strlen(apt_carried_options[i]);
                        /* Key "value"; with a value of no quotes, semicolons or newlines */
                        if (n <= k + 4 || strncasecmp(l, apt_carried_options[i], k) != 0 || l[k] != ' ' ||
                            l[k + 1] != '"' || memcmp(l + n - 2, "\";", 2) != 0 ||
                            memchr(l + k + 2, '"', n - k - 4) || memchr(l + k + 2, ';', n - k - 4))
                                continue;
                        char opt[512];
                        if ((size_t) snprintf(opt, sizeof opt, "%.*s", (int) (n - 1), l) >= sizeof opt)
                                continue;
                        if (strv_push(&opts, opt) < 0)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(opts);
        return 0;
}

int apt_host_options(char ***ret) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0)
                        _exit(127);
                execlp("apt-config", "apt-config", "dump", (char *) NULL);
                _exit(127);
        }
        p[1] = safe_close(p[1]);
        size_t size = 0, cap = 1 << 16;
        _cleanup_free_ char *buf = malloc(cap + 1);
        for (ssize_t k; buf && size < cap && (k = read(p[0], buf + size, cap - size)) != 0;)
                if (k > 0)
                        size += (size_t) k;
                else if (errno != EINTR)
                        break;
        p[0] = safe_close(p[0]);
        int r = wait_exit_status(pid);
        if (!buf)
                return -ENOMEM;
        buf[size] = 0;
        if (r != 0) { /* no apt-config: no options */
                *ret = NULL;
                return 0;
        }
        return apt_config_options(buf, ret);
}

static int strv_join_comma(const char *const *a, char *const *b, char **ret) {
        size_t n = 1;
        for (size_t i = 0; a && a[i]; i++)
                n += strlen(a[i]) + 1;
        for (size_t i = 0; b && b[i]; i++)
                n += strlen(b[i]) + 1;
        char *s = calloc(1, n);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; a && a[i]; i++)
                strcat(strcat(s, *s ? "," : ""), a[i]);
        for (size_t i = 0; b && b[i]; i++)
                strcat(strcat(s, *s ? "," : ""), b[i]);
        *ret = s;
        return 0;
}

char **create_bootstrap_argv(const CreateSpec *s, const char *target) {
        const CreateRecipe *rc = s->recipe;
        if (s->debootstrap && strcmp(rc->variant, "minbase") != 0)
                return NULL;
        _cleanup_free_ char *pkgs = NULL, *include = NULL, *variant = NULL;
        if (strv_join_comma(rc->packages, s->packages, &pkgs) < 0 ||
            asprintf(&include, "--include=%s", pkgs) < 0 ||
            asprintf(&variant, "--variant=%s", rc->variant) < 0)
                return NULL;
        const char *args[] = { s->debootstrap ? "debootstrap" : "mmdebstrap",
                               variant,
                               include,
                               s->debootstrap ? "--merged-usr" : "--mode=root",
                               s->debootstrap ? "--" : "--format=directory",
                               s->release,
                               target,
                               s->mirror };
        _cleanup_strv_free_ char **argv = NULL;
        for (size_t i = 0; i < ELEMENTSOF(args); i++) {
                if (strcmp(args[i], "--") != 0 && strv_push(&argv, args[i]) < 0)
                        return NULL;
                /* mmdebstrap's options before the suite (debootstrap has no way to take them) */
                for (char *const *o = s->apt_options; i == 4 && !s->debootstrap && o && *o; o++) {
                        _cleanup_free_ char *opt = NULL;
                        if (asprintf(&opt, "--aptopt=%s", *o) < 0 || strv_push(&argv, opt) < 0)
                                return NULL;
                }
        }
        return TAKE_PTR(argv);
}

/* The pid of the outermost process of the current step, for a signal handler to kill. */
static volatile pid_t running_pid = 0;

int create_running_pid(void) {
        return running_pid;
}

/* PID 1 of the step's own PID namespace: runs argv and reaps until it ends. When this process
 * dies, the kernel kills everything else in the namespace (apt, dpkg, maintainer scripts). */
_noreturn_ static void step_pid1(char *const *argv, char *const *envp) {
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* a /proc of this namespace for the tools; the mount namespace is private */
        (void) mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        pid_t c = fork();
        if (c < 0)
                _exit(127);
        if (c == 0) {
                execvpe(argv[0], argv, envp);
                fprintf(stderr, "E: cannot run %s: %m\n", argv[0]);
                _exit(127);
        }
        for (;;) {
                int st;
                pid_t w = wait(&st);
                if (w < 0 && errno != EINTR)
                        _exit(127);
                if (w == c)
                        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        }
}

_noreturn_ static void step_child(char *const *argv, char *const *envp, int out, pid_t parent) {
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(127);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
                _exit(127);
        if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "E: cannot make a private mount and PID namespace: %m\n");
                _exit(127);
        }
        pid_t p1 = fork();
        if (p1 < 0)
                _exit(127);
        if (p1 == 0)
                step_pid1(argv, envp);
        int r = wait_exit_status(p1);
        _exit(r < 0 ? 127 : r);
}

/* Keep the first "E:" line (apt's and mmdebstrap's errors), else the last line, as the reason. */
static void note_line(const char *line, char *err, size_t n, bool *have_e) {
        if (!err || n == 0 || !line[0])
                return;
        bool e = strncmp(line, "E: ", 3) == 0;
        if (*have_e || (!e && strncmp(line, "W: ", 3) == 0))
                return;
        snprintf(err, n, "%s", line);
        *have_e = e;
}

static int run_step(char *const *argv, char *const *envp, const char *tool, CreateStepFn step, void *userdata,
                    char *err, size_t n_err) {
        _cleanup_close_pair_ int p[2] = { -EBADF, -EBADF };
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                step_child(argv, envp, p[1], parent);
        running_pid = pid;
        p[1] = safe_close(p[1]);

        FILE *f = fdopen(p[0], "r");
        if (f)
                p[0] = -EBADF;
        bool have_e = false;
        char *line = NULL;
        size_t sz = 0;
        for (ssize_t k; f && (k = getline(&line, &sz, f)) >= 0;) {
                line[strcspn(line, "\n")] = 0;
                note_line(line, err, n_err, &have_e);
                /* mmdebstrap's "I:" lines are its steps */
                if (step && tool && strncmp(line, "I: ", 3) == 0) {
                        char s[512];
                        snprintf(s, sizeof s, "%s: %s", tool, line + 3);
                        step(s, userdata);
                }
        }
        free(line);
        if (f)
                fclose(f);
        int r = wait_exit_status(pid);
        running_pid = 0;
        if (r < 0)
                return r;
        return r == 0 ? 0 : r > 128 ? -EINTR : -EPROTO;
}

int create_tree(const CreateSpec *s, const char *target, CreateStepFn step, void *userdata, char *ret_error,
                size_t n_error) {
        _cleanup_strv_free_ char **argv = create_bootstrap_argv(s, target);
        if (!argv)
                return s->debootstrap ? -EOPNOTSUPP : -ENOMEM;
        _cleanup_free_ char *host = NULL, *hash = NULL;
        if (asprintf(&host, "NSPAWNLITE_HOSTNAME=%s", s->hostname) < 0 ||
            asprintf(&hash, "NSPAWNLITE_ROOT_HASH=%s", s->root_hash ? s->root_hash : "") < 0)
                return -ENOMEM;
        char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                         "LC_ALL=C",
                         "HOME=/root",
                         "DEBIAN_FRONTEND=noninteractive",
                         host,
                         hash,
                         NULL };
        if (ret_error && n_error)
                ret_error[0] = 0;

        char desc[128], what[256];
        snprintf(desc, sizeof desc, s->recipe->description, s->release);
        snprintf(what, sizeof what, "Installing %s (%s)", desc, argv[0]);
        if (step)
                step(what, userdata);
        int r = run_step(argv, envp, argv[0], step, userdata, ret_error, n_error);
        if (r < 0)
                return r;

        for (const char *const *st = s->recipe->steps; *st; st++) {
                if (step)
                        step(st == s->recipe->steps ? "Setting up the guest" : "Finishing the guest",
                             userdata);
                _cleanup_free_ char *script = NULL;
                if (asprintf(&script, "%s%s", create_step_preamble, *st) < 0)
                        return -ENOMEM;
                char *sh[] = { "sh", "-c", script, "sh", (char *) target, NULL };
                r = run_step(sh, envp, NULL, NULL, NULL, ret_error, n_error);
                if (r < 0)
                        return r;
        }
        return 0;
}
