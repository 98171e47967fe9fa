/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What each kind of guest gets: its packages and the steps after them. The steps are shell run on
 * the host with the tree as $1 (they edit files of the tree and run its own tools in a chroot), so
 * that mmdebstrap and debootstrap get the same ones. They are what the test guests found each init
 * needs to boot under a container manager (tests/guests/). */
#include <string.h>

#include "machines/images/create-recipes.h"

/* Prepended to every step: strict shell, the tree, and its tools in a clean environment. */
const char create_step_preamble[] =
        "set -eu\n"
        "t=$1\n"
        "ch() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root "
        "DEBIAN_FRONTEND=noninteractive chroot \"$t\" \"$@\"; }\n"
        /* getty_wrapper PATH CMD: a script called with a tty name that runs CMD ("$tty" in it)
         * when the container has /dev/TTY, and otherwise sleeps: the manager decides which ttys
         * exist, and init's respawn of a getty on a missing tty would spin. */
        "getty_wrapper() {\n"
        "cat >\"$t$1\" <<EOF\n"
        "#!/bin/sh\n"
        "# ${1##*/} TTY: a getty on /dev/TTY if the container has that tty, else sleep.\n"
        "tty=\\${1:?usage: ${1##*/} TTY}\n"
        "if [ -c \"/dev/\\$tty\" ]; then\n"
        "    exec $2\n"
        "fi\n"
        "exec sleep 2147483647\n"
        "EOF\n"
        "chmod 0755 \"$t$1\"\n"
        "}\n";

/* Every Debian guest: an empty machine id (first boot: systemd takes the container's uuid), no
 * resolver of the host's, the hostname, root's password (or locked: 'nspawnlite shell' gets in). */
static const char debian_finish[] =
        ": >\"$t/etc/machine-id\"\n"
        "if [ -e \"$t/var/lib/dbus/machine-id\" ] || [ -L \"$t/var/lib/dbus/machine-id\" ]; then\n"
        "    ln -sfn /etc/machine-id \"$t/var/lib/dbus/machine-id\"\n"
        "fi\n"
        "rm -f \"$t/etc/resolv.conf\"\n"
        ": >\"$t/etc/resolv.conf\"\n"
        "printf '127.0.0.1\\tlocalhost\\n::1\\t\\tlocalhost ip6-localhost ip6-loopback\\n"
        "ff02::1\\t\\tip6-allnodes\\nff02::2\\t\\tip6-allrouters\\n' >\"$t/etc/hosts\"\n"
        "[ -z \"$NSPAWNLITE_HOSTNAME\" ] || printf '%s\\n' \"$NSPAWNLITE_HOSTNAME\" >\"$t/etc/hostname\"\n"
        "if [ -n \"${NSPAWNLITE_ROOT_HASH:-}\" ]; then\n"
        "    printf 'root:%s\\n' \"$NSPAWNLITE_ROOT_HASH\" | ch chpasswd -e\n"
        "else\n"
        "    ch usermod -p '!' root\n"
        "fi\n"
        /* A login on the manager's ttys (ptys) must not be refused for their names. */
        "if grep -rqs '^[^#]*pam_securetty' \"$t/etc/pam.d\"; then\n"
        "    sed -i '/^[^#]*pam_securetty/s/^/# not in a container: /' \"$t\"/etc/pam.d/*\n"
        "fi\n"
        "ch apt-get clean\n"
        "rm -rf \"$t\"/var/lib/apt/lists/* \"$t\"/var/cache/apt/*.bin \"$t/var/log/bootstrap.log\"\n"
        "mkdir -p \"$t/var/lib/apt/lists/partial\"\n";

static const char systemd_check[] = "[ \"$(ch readlink -f /sbin/init)\" = /usr/lib/systemd/systemd ] || "
                                    "[ \"$(ch readlink -f /sbin/init)\" = /lib/systemd/systemd ] || "
                                    "{ echo 'E: /sbin/init is not systemd' >&2; exit 1; }\n";

/* OpenRC recognises a container only from a few values of $container; say so once here. */
static const char openrc_rc_sys[] =
        "[ -x \"$t/sbin/openrc\" ] || { echo 'E: openrc is not installed' >&2; exit 1; }\n"
        "sed -i 's/^#\\?rc_sys=.*/rc_sys=\"systemd-nspawn\"/' \"$t/etc/rc.conf\"\n"
        "grep -qx 'rc_sys=\"systemd-nspawn\"' \"$t/etc/rc.conf\"\n";

/* sysvinit's inittab: its tty gettys through the wrapper, and one on the console. Then the boot
 * scripts that have nothing to do in a container and only fail there, turned off but installed:
 * hwclock.sh (no RTC), umountfs/umountroot (the manager's mounts; emptied, kept for ordering),
 * checkfs.sh (no fstab file systems), procps (/proc/sys is read-only), bootlogs (no dmesg). */
static const char sysv_container[] =
        "getty_wrapper /sbin/nspawnlite-getty "
        "'/sbin/agetty --noclear --keep-baud \"$tty\" 115200,38400,9600 vt220'\n"
        "sed -i -E 's|^([1-6]):([0-9]+):respawn:/sbin/getty "
        ".*(tty[1-6])$|\\1:\\2:respawn:/sbin/nspawnlite-getty "
        "\\3|' \"$t/etc/inittab\"\n"
        "grep -q '^co:' \"$t/etc/inittab\" || printf 'co:2345:respawn:/sbin/nspawnlite-getty console\\n' "
        ">>\"$t/etc/inittab\"\n"
        "if [ -x \"$t/sbin/openrc\" ]; then\n"
        "    mkdir -p \"$t/etc/conf.d\"\n"
        "    for s in hwclock.sh umountfs umountroot checkfs.sh procps bootlogs; do\n"
        "        printf 'rc_keyword=\"-containers\"\\n' >>\"$t/etc/conf.d/$s\"\n"
        "    done\n"
        "else\n"
        "    [ ! -e \"$t/etc/init.d/hwclock.sh\" ] || ch update-rc.d -f hwclock.sh remove\n"
        "    for s in umountfs umountroot; do\n"
        "        [ -e \"$t/etc/init.d/$s\" ] || continue\n"
        "        sed -n '1,/^### END INIT INFO/p' \"$t/etc/init.d/$s\" >\"$t/etc/init.d/$s.new\"\n"
        "        printf '# nothing to unmount in a container\\nexit 0\\n' >>\"$t/etc/init.d/$s.new\"\n"
        "        chmod 0755 \"$t/etc/init.d/$s.new\"\n"
        "        mv \"$t/etc/init.d/$s.new\" \"$t/etc/init.d/$s\"\n"
        "    done\n"
        "    for s in checkfs.sh procps bootlogs; do\n"
        "        [ ! -e \"$t/etc/init.d/$s\" ] || ch update-rc.d \"$s\" disable\n"
        "    done\n"
        "fi\n"
        "ln -sfn /proc/mounts \"$t/etc/mtab\"\n"
        "mkdir -p \"$t/etc/inittab.d\"\n"
        "[ ! -f \"$t/etc/default/halt\" ] || sed -i 's/^NETDOWN=.*/NETDOWN=no/' \"$t/etc/default/halt\"\n";

/* Debian's static busybox as init, shell and tools (mmdebstrap's "extract": the package's files
 * only), with applet links, a busybox inittab and root and nobody. */
static const char busybox_tree[] =
        "bb=\"$t/bin/busybox\"\n"
        "[ -e \"$bb\" ] || [ ! -e \"$t/usr/bin/busybox\" ] || { mkdir -p \"$t/bin\"; mv "
        "\"$t/usr/bin/busybox\" \"$bb\"; }\n"
        "[ -x \"$bb\" ] || { echo 'E: busybox-static has no busybox binary' >&2; exit 1; }\n"
        "rm -rf \"$t/etc\" \"$t/var\" \"$t/usr/share\"\n"
        "mkdir -p \"$t\"/bin \"$t\"/sbin \"$t\"/usr/bin \"$t\"/usr/sbin \"$t\"/etc/init.d \"$t\"/proc "
        "\"$t\"/sys "
        "\"$t\"/dev \"$t\"/run \"$t\"/tmp \"$t\"/root \"$t\"/var\n"
        "chmod 1777 \"$t/tmp\"\n"
        "chmod 0700 \"$t/root\"\n"
        "for link in $(chroot \"$t\" /bin/busybox --list-full); do\n"
        "    case $link in bin/busybox|*[!a-z0-9_./-]*) continue ;; bin/*|sbin/*) ln -sfn ../bin/busybox "
        "\"$t/$link\" ;;\n"
        "    usr/bin/*|usr/sbin/*) ln -sfn ../../bin/busybox \"$t/$link\" ;; esac\n"
        "done\n"
        "for link in sbin/init bin/sh sbin/getty bin/login; do\n"
        "    [ -L \"$t/$link\" ] || { echo \"E: busybox lacks $link\" >&2; exit 1; }\n"
        "done\n"
        "v=$(chroot \"$t\" /bin/busybox 2>&1 | sed -n '1s/^BusyBox v\\([^ ]*\\).*/\\1/p')\n"
        "printf 'NAME=\"BusyBox\"\\nID=busybox\\nVERSION_ID=\"%s\"\\nPRETTY_NAME=\"BusyBox %s\"\\n"
        "HOME_URL=\"https://busybox.net/\"\\n' \"$v\" \"$v\" >\"$t/etc/os-release\"\n"
        "printf 'root:x:0:0:root:/root:/bin/sh\\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\\n' "
        ">\"$t/etc/passwd\"\n"
        "printf 'root:x:0:\\ntty:x:5:\\nnogroup:x:65534:\\n' >\"$t/etc/group\"\n"
        "printf 'root:%s:19000:0:99999:7:::\\nnobody:*:19000:0:99999:7:::\\n' \"${NSPAWNLITE_ROOT_HASH:-!}\" "
        ">\"$t/etc/shadow\"\n"
        "chmod 0600 \"$t/etc/shadow\"\n"
        "[ -z \"$NSPAWNLITE_HOSTNAME\" ] || printf '%s\\n' \"$NSPAWNLITE_HOSTNAME\" >\"$t/etc/hostname\"\n"
        "getty_wrapper /sbin/nspawnlite-getty '/sbin/getty -L 0 \"$tty\" vt100'\n"
        "printf '%s\\n' '::sysinit:/etc/init.d/rcS' '::respawn:/sbin/nspawnlite-getty tty1' "
        "'::respawn:/sbin/nspawnlite-getty tty2' '::respawn:/sbin/nspawnlite-getty tty3' "
        "'::respawn:/sbin/nspawnlite-getty tty4' 'console::respawn:/sbin/getty -L 0 console vt100' "
        "'::ctrlaltdel:/sbin/reboot' '::shutdown:/bin/umount -a -r' >\"$t/etc/inittab\"\n"
        /* The manager mounts /proc, /sys, /dev, /run and /tmp: rcS mounts nothing. */
        "printf '%s\\n' '#!/bin/sh' 'echo \"nspawnlite-guest: busybox ready\" >/dev/console' "
        "'if [ -x /etc/nspawnlite-test.sh ]; then' '    /etc/nspawnlite-test.sh' 'fi' "
        ">\"$t/etc/init.d/rcS\"\n"
        "chmod 0755 \"$t/etc/init.d/rcS\"\n"
        "printf 'export PATH=/usr/sbin:/usr/bin:/sbin:/bin\\n' >\"$t/etc/profile\"\n";

static const char *const systemd_packages[] = {
        "systemd", "systemd-sysv", "dbus",         "libpam-systemd", "login",
        "passwd",  "iproute2",     "iputils-ping", "procps",         NULL
};
static const char *const sysvinit_packages[] = { "sysvinit-core", "sysv-rc", "initscripts",
                                                 "login",         "passwd",  "iproute2",
                                                 "iputils-ping",  "procps",  NULL };
/* apt picks openrc for sysvinit-core's "sysv-rc | file-rc | openrc" when it is asked for. */
static const char *const openrc_packages[] = { "sysvinit-core", "openrc", "initscripts",
                                               "login",         "passwd", "iproute2",
                                               "iputils-ping",  "procps", NULL };
static const char *const busybox_packages[] = { "busybox-static", NULL };

static const char *const systemd_steps[] = { systemd_check, debian_finish, NULL };
static const char *const sysvinit_steps[] = { sysv_container, debian_finish, NULL };
static const char *const openrc_steps[] = { openrc_rc_sys, sysv_container, debian_finish, NULL };
static const char *const busybox_steps[] = { busybox_tree, NULL };

static const CreateRecipe recipes[] = {
        /* the first of a distro is its default */
        { "debian", "systemd", "Debian %s with systemd", "minbase", systemd_packages, systemd_steps },
        { "debian", "sysvinit", "Debian %s with sysvinit", "minbase", sysvinit_packages, sysvinit_steps },
        { "debian", "openrc", "Debian %s with OpenRC", "minbase", openrc_packages, openrc_steps },
        { "busybox", "busybox", "BusyBox of Debian %s's busybox-static", "extract", busybox_packages,
          busybox_steps },
};

const CreateRecipe *create_recipe_find(const char *distro, const char *init) {
        for (size_t i = 0; i < sizeof recipes / sizeof recipes[0]; i++)
                if (strcmp(recipes[i].distro, distro) == 0 && (!init || strcmp(recipes[i].init, init) == 0))
                        return &recipes[i];
        return NULL;
}
