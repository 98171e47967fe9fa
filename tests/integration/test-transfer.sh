#!/bin/bash
# import-tar, export-tar, import-raw, export-raw, pull-tar, pull-raw (issue 15): round trips that keep
# owners, modes, device nodes, xattrs, ACLs and hard links; pulls from a local HTTP server in the
# test's own network namespace with each --verify=; bad inputs refused in one line with nothing left
# in the store; a SIGKILLed import leaves only a temporary, which gc removes.
source "$(dirname "$0")/lib.sh"

for tool in python3 mkfs.ext4 gpg gpgv setfacl sha256sum; do
        command -v "$tool" >/dev/null || skip "needs $tool"
done

export NSPAWNLITE_MACHINES_DIR=$WORK/store
STORE=$NSPAWNLITE_MACHINES_DIR
mkdir -m 0700 "$STORE"

# manifest DIR: one line per entry (type, mode, owners, size or device, hard link group, xattrs
# and ACLs), sorted; the root's own times left out.
manifest() {
        python3 - "$1" <<'EOF'
import os, stat, sys, hashlib
root = sys.argv[1]
first = {}
out = []
paths = [root]
for d, dirs, files in os.walk(root):
    paths += [os.path.join(d, n) for n in dirs + files]
for p in sorted(paths):
    rel = os.path.relpath(p, root)
    st = os.lstat(p)
    line = [rel, oct(st.st_mode), f"{st.st_uid}:{st.st_gid}"]
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        line.append(f"dev={os.major(st.st_rdev)},{os.minor(st.st_rdev)}")
    if stat.S_ISREG(st.st_mode):
        line.append(hashlib.sha256(open(p, "rb").read()).hexdigest()[:16])
        if st.st_nlink > 1:
            line.append("link=" + first.setdefault((st.st_dev, st.st_ino), rel))
    if stat.S_ISLNK(st.st_mode):
        line.append("-> " + os.readlink(p))
    if not stat.S_ISDIR(st.st_mode):
        line.append(f"mtime={int(st.st_mtime)}")
    for x in sorted(os.listxattr(p, follow_symlinks=False)):
        line.append(f"{x}={os.getxattr(p, x, follow_symlinks=False).hex()}")
    out.append(" ".join(line))
print("\n".join(sorted(out)))
EOF
}

# The store holds exactly the names given (no temporary, no half image).
store_is() {
        local want got
        want=$(printf '%s\n' "$@" | sort)
        got=$(ls -A "$STORE" | sort)
        [ "$want" = "$got" ] || { log "store holds: $(echo "$got" | tr '\n' ' ') want: $*"; return 1; }
}

# refuse WHAT PATTERN CMD…: CMD fails with one error line matching PATTERN and the store unchanged.
refuse() {
        local what=$1 pattern=$2 rc=0 before
        shift 2
        before=$(ls -A "$STORE" | sort | tr '\n' ' ')
        "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
        local errors
        errors=$(grep -c '^nspawnlite:' "$WORK/err" || true)
        if [ "$rc" = 0 ]; then
                fail "$what: succeeded"
        elif [ "$errors" != 1 ] || ! grep -qE "$pattern" "$WORK/err"; then
                fail "$what: want one error line matching '$pattern', got: $(cat "$WORK/err")"
        elif [ "$(ls -A "$STORE" | sort | tr '\n' ' ')" != "$before" ]; then
                fail "$what: the store changed: $(ls -A "$STORE" | tr '\n' ' ')"
        else
                pass "$what: refused (exit $rc): $(grep '^nspawnlite:' "$WORK/err")"
        fi
}

# --- A tree with what a tar must carry: owners, odd modes, a device node, a FIFO, an xattr, an ACL,
# hard links, symlinks.
SRC=$(guest_copy busybox) || die "no busybox guest"
mknod "$SRC/dev/test-null" c 1 3
mkfifo "$SRC/tmp/fifo"
echo data >"$SRC/etc/owned"
chown 1234:5678 "$SRC/etc/owned"
chmod 4751 "$SRC/etc/owned"
ln "$SRC/etc/owned" "$SRC/etc/owned-link"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nspawnlite", b"hello")' "$SRC/etc/owned"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "trusted.nspawnlite", b"root-only")' "$SRC/etc/owned"
setfacl -m u:4242:r-x "$SRC/etc/owned"
setfacl -d -m g:4343:rwx "$SRC/tmp"
ln -s /etc/owned "$SRC/abs-link"
cp -a "$SRC" "$STORE/src"
manifest "$STORE/src" >"$WORK/src.manifest"
grep -q 'dev=1,3' "$WORK/src.manifest" && grep -q 'system.posix_acl_access' "$WORK/src.manifest" &&
        grep -q 'link=etc/owned' "$WORK/src.manifest" && grep -q 'user.nspawnlite' "$WORK/src.manifest" ||
        die "the source tree lacks what the round trip checks: $(grep -E 'owned|test-null' "$WORK/src.manifest")"

for verb in import-tar import-raw export-tar export-raw pull-tar pull-raw; do
        "$NSPAWNLITE" "$verb" --help | grep -q "^nspawnlite $verb " && pass "$verb --help" || fail "$verb --help"
done

# --- export-tar / import-tar round trip, with each compression (checked by the file's magic).
declare -A MAGIC=([tar]=7573746172 [tar.gz]=1f8b [tar.xz]=fd377a585a [tar.zst]=28b52ffd)
declare -A OFFSET=([tar]=257 [tar.gz]=0 [tar.xz]=0 [tar.zst]=0)
for suffix in tar tar.gz tar.xz tar.zst; do
        out=$WORK/export.$suffix
        if ! "$NSPAWNLITE" export-tar src "$out" 2>"$WORK/err"; then
                fail "export-tar to .$suffix: $(cat "$WORK/err")"
                continue
        fi
        magic=$(od -An -tx1 -j "${OFFSET[$suffix]}" -N $((${#MAGIC[$suffix]} / 2)) "$out" | tr -d ' \n')
        [ "$magic" = "${MAGIC[$suffix]}" ] && pass "export-tar .$suffix is $suffix (magic $magic)" ||
                fail "export-tar .$suffix: magic $magic, want ${MAGIC[$suffix]}"
        name=back-${suffix//./-}
        if ! "$NSPAWNLITE" import-tar "$out" "$name" 2>"$WORK/err"; then
                fail "import-tar of .$suffix: $(cat "$WORK/err")"
                continue
        fi
        if diff <(manifest "$STORE/$name") "$WORK/src.manifest" >"$WORK/diff"; then
                pass "import-tar of export-tar .$suffix keeps owners, modes, device node, xattrs, ACLs, hard links"
        else
                fail "round trip .$suffix differs: $(head -c 1500 "$WORK/diff")"
        fi
done
store_is src back-tar back-tar-gz back-tar-xz back-tar-zst && pass "the store holds the imports, no temporary" ||
        fail "store after the round trips"

# The name defaults to the file name without its suffixes; standard input needs one.
cp "$WORK/export.tar.xz" "$WORK/defname.tar.xz"
"$NSPAWNLITE" import-tar "$WORK/defname.tar.xz" 2>"$WORK/err" && [ -d "$STORE/defname" ] &&
        pass "import-tar names the image after the file (defname)" || fail "default name: $(cat "$WORK/err")"
"$NSPAWNLITE" import-tar - stdin-img <"$WORK/export.tar.gz" 2>"$WORK/err" &&
        diff <(manifest "$STORE/stdin-img") "$WORK/src.manifest" >/dev/null &&
        pass "import-tar - NAME reads standard input" || fail "import-tar -: $(cat "$WORK/err")"
"$NSPAWNLITE" export-tar src - 2>"$WORK/err" | "$NSPAWNLITE" import-tar - piped 2>>"$WORK/err" &&
        diff <(manifest "$STORE/piped") "$WORK/src.manifest" >/dev/null &&
        pass "export-tar src - | import-tar - piped: the same tree" || fail "export-tar to a pipe: $(cat "$WORK/err")"
rm -rf "${STORE:?}/defname" "${STORE:?}/stdin-img" "${STORE:?}/piped" "$STORE"/back-*

# --- export-raw / import-raw of an ext4 image, plain and compressed.
mkfs.ext4 -q -d "$SRC" "$WORK/disk.raw" 32M >/dev/null || die "mkfs.ext4 -d"
SUM=$(sha256sum <"$WORK/disk.raw" | cut -d' ' -f1)
"$NSPAWNLITE" import-raw "$WORK/disk.raw" 2>"$WORK/err" &&
        [ "$(sha256sum <"$STORE/disk.raw" | cut -d' ' -f1)" = "$SUM" ] &&
        pass "import-raw disk.raw: image 'disk', same sha256" || fail "import-raw: $(cat "$WORK/err")"
for suffix in raw raw.gz raw.xz raw.zst; do
        out=$WORK/out.$suffix
        "$NSPAWNLITE" export-raw disk "$out" 2>"$WORK/err" || { fail "export-raw .$suffix: $(cat "$WORK/err")"; continue; }
        if [ "$suffix" = raw ]; then
                [ "$(sha256sum <"$out" | cut -d' ' -f1)" = "$SUM" ] && pass "export-raw .raw: same sha256" ||
                        fail "export-raw .raw differs"
                continue
        fi
        cmp -s "$out" "$WORK/disk.raw" && fail "export-raw .$suffix is not compressed"
        "$NSPAWNLITE" import-raw "$out" "disk-${suffix//./-}" 2>"$WORK/err" &&
                [ "$(sha256sum <"$STORE/disk-${suffix//./-}.raw" | cut -d' ' -f1)" = "$SUM" ] &&
                pass "export-raw/import-raw .$suffix round trip: same sha256" ||
                fail "raw round trip .$suffix: $(cat "$WORK/err")"
done
got=$("$NSPAWNLITE" export-raw disk - 2>"$WORK/err" | sha256sum | cut -d' ' -f1)
[ "$got" = "$SUM" ] && pass "export-raw disk - (a pipe, no holes): same sha256" ||
        fail "export-raw to a pipe: $got: $(cat "$WORK/err")"
rm -f "$STORE"/disk-*.raw

# --- Bad inputs: one line each, nothing in the store.
python3 - "$WORK" <<'EOF'
import io, sys, tarfile
w = sys.argv[1]
def reg(name, data=b"x"):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, io.BytesIO(data))
def sym(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; return (i,)
def hard(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.LNKTYPE; i.linkname = target; return (i,)
for name, entries in {
    "dotdot": [reg("ok"), reg("../escaped")],
    "absolute": [reg("/escaped-abs")],
    "abs-symlink": [sym("etc", "/"), reg("etc/escaped-sym")],
    "rel-symlink": [sym("up", "../.."), reg("up/escaped-rel")],
    "hardlink-out": [reg("ok"), hard("hl", "../../etc/passwd")],
    "hardlink-via-symlink": [sym("e", w), hard("hl", "e/outside-file")],
    "file-over-symlink": [sym("link", w + "/outside-file"), reg("link", b"overwritten")],
}.items():
    with tarfile.open(f"{w}/{name}.tar", "w") as t:
        for e in entries:
            t.addfile(*e)
EOF
refuse "tar with a ../ entry" "entry '\.\./escaped'" "$NSPAWNLITE" import-tar "$WORK/dotdot.tar"
refuse "tar with an absolute name" "entry '/escaped-abs'" "$NSPAWNLITE" import-tar "$WORK/absolute.tar"
refuse "tar with an absolute symlink, then a file through it" "etc/escaped-sym.*symlink" \
        "$NSPAWNLITE" import-tar "$WORK/abs-symlink.tar"
refuse "tar with a ../.. symlink, then a file through it" "up/escaped-rel.*symlink" \
        "$NSPAWNLITE" import-tar "$WORK/rel-symlink.tar"
refuse "tar with a hard link out" "entry 'hl'.*hard link" "$NSPAWNLITE" import-tar "$WORK/hardlink-out.tar"
echo outside >"$WORK/outside-file"
refuse "tar with a hard link through a symlink" "entry 'hl'.*symlink" \
        "$NSPAWNLITE" import-tar "$WORK/hardlink-via-symlink.tar"
[ "$(stat -c %h "$WORK/outside-file")" = 1 ] && pass "no hard link to a file outside was made" ||
        fail "a hard link to $WORK/outside-file was made"
# A file after a symlink of the same name replaces the link, never writes through it.
if "$NSPAWNLITE" import-tar "$WORK/file-over-symlink.tar" over 2>"$WORK/err" &&
        [ "$(cat "$WORK/outside-file")" = outside ] && [ -f "$STORE/over/link" ] && [ ! -L "$STORE/over/link" ]; then
        pass "a file over a symlink replaced the link; the file outside is untouched"
else
        fail "file over symlink: $(cat "$WORK/err"); outside: $(cat "$WORK/outside-file")"
fi
rm -rf "${STORE:?}/over"
[ ! -e /escaped-abs ] && [ ! -e "$WORK/escaped" ] && [ ! -e "$STORE/escaped" ] && [ ! -e /escaped-sym ] &&
        [ ! -e "$(dirname "$STORE")/escaped-rel" ] && pass "no file landed outside" || fail "a file escaped"
head -c 300000 "$WORK/export.tar" >"$WORK/truncated.tar"
refuse "truncated tar" "Truncated" "$NSPAWNLITE" import-tar "$WORK/truncated.tar"
head -c 300000 "$WORK/export.tar.zst" >"$WORK/truncated.tar.zst"
refuse "truncated tar.zst" "Truncated zstd|not a valid archive" "$NSPAWNLITE" import-tar "$WORK/truncated.tar.zst"
head -c 65536 /dev/urandom >"$WORK/random.tar"
refuse "random bytes as tar" "not a valid archive" "$NSPAWNLITE" import-tar "$WORK/random.tar"
head -c 1048576 /dev/urandom >"$WORK/random.raw"
refuse "raw that is no image" "no disk image" "$NSPAWNLITE" import-raw "$WORK/random.raw"
head -c 300000 "$WORK/out.raw.xz" >"$WORK/truncated.raw.xz"
refuse "truncated raw.xz" "Failed to import" "$NSPAWNLITE" import-raw "$WORK/truncated.raw.xz"
refuse "import-tar into an existing name" "exists already" "$NSPAWNLITE" import-tar "$WORK/export.tar" src
refuse "invalid image name" "Invalid image name" "$NSPAWNLITE" import-tar "$WORK/export.tar" ../evil
refuse "export-tar to an existing file" "exists" "$NSPAWNLITE" export-tar src "$WORK/export.tar"
refuse "export-tar of a raw image" "export-raw" "$NSPAWNLITE" export-tar disk "$WORK/new.tar"
refuse "export-tar of an unknown image" "No image 'nosuch'" "$NSPAWNLITE" export-tar nosuch "$WORK/new2.tar"
[ ! -e "$WORK/new.tar" ] && [ ! -e "$WORK/new2.tar" ] && pass "failed exports leave no file" ||
        fail "a failed export left a file"
store_is src disk.raw && pass "bad inputs left nothing in the store" || fail "store after the bad inputs"

# --- SIGKILL of import-tar midway, then gc.
mkfifo "$WORK/fifo"
"$NSPAWNLITE" import-tar "$WORK/fifo" killed 2>"$WORK/kill.err" &
KPID=$!
STARTED_PIDS+=("$KPID")
exec 7>"$WORK/fifo"
head -c 1500000 "$WORK/export.tar" >&7
if wait_for 10 compgen -G "$STORE/.#killed.*/bin"; then
        kill -KILL "$KPID"
        wait "$KPID" 2>/dev/null || true
        exec 7>&-
        compgen -G "$STORE/.#killed.*" >/dev/null && [ ! -e "$STORE/killed" ] &&
                pass "SIGKILL midway: only a hidden temporary, nothing under the name" ||
                fail "after SIGKILL: $(ls -A "$STORE" | tr '\n' ' ')"
        "$NSPAWNLITE" gc >/dev/null 2>"$WORK/err" && store_is src disk.raw &&
                pass "gc removed the killed import's temporary" || fail "gc: $(cat "$WORK/err"); $(ls -A "$STORE")"
else
        exec 7>&-
        fail "import-tar from the FIFO did not start extracting: $(cat "$WORK/kill.err")"
fi

# --- SIGINT (Ctrl-C) of import-tar midway: it stops and removes its temporary itself.
mkfifo "$WORK/fifo2"
"$NSPAWNLITE" import-tar "$WORK/fifo2" interrupted 2>"$WORK/int.err" &
IPID=$!
STARTED_PIDS+=("$IPID")
exec 7>"$WORK/fifo2"
head -c 1500000 "$WORK/export.tar" >&7
if wait_for 10 compgen -G "$STORE/.#interrupted.*/bin"; then
        kill -INT "$IPID"
        rc=0
        wait "$IPID" 2>/dev/null || rc=$?
        exec 7>&-
        [ "$rc" != 0 ] && grep -q "Interrupted" "$WORK/int.err" && store_is src disk.raw &&
                pass "SIGINT midway: '$(cat "$WORK/int.err")', exit $rc, nothing left" ||
                fail "after SIGINT: exit $rc, $(cat "$WORK/int.err"); $(ls -A "$STORE" | tr '\n' ' ')"
else
        exec 7>&-
        fail "import-tar from the second FIFO did not start extracting: $(cat "$WORK/int.err")"
fi

# --- pull-tar / pull-raw from a local server (the test's own network namespace, loopback only).
SRV=$WORK/srv
mkdir -p "$SRV/good" "$SRV/badsum" "$SRV/badsig"
cp "$WORK/export.tar.gz" "$SRV/good/bb.tar.gz"
cp "$WORK/out.raw.zst" "$SRV/good/disk.raw.zst"
(cd "$SRV/good" && sha256sum bb.tar.gz disk.raw.zst >SHA256SUMS)
export GNUPGHOME=$WORK/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg_quiet() { gpg --batch --quiet --pinentry-mode loopback --passphrase '' "$@" 2>>"$WORK/gpg.log"; }
gpg_quiet --quick-gen-key 'nspawnlite test <test@invalid>' ed25519 sign never || die "gpg key: $(cat "$WORK/gpg.log")"
gpg_quiet --export >"$WORK/pubring.gpg"
gpg_quiet --detach-sign -o "$SRV/good/SHA256SUMS.gpg" "$SRV/good/SHA256SUMS"
cp "$SRV/good/bb.tar.gz" "$SRV/badsum/"
(cd "$SRV/badsum" && echo "$(printf '%064d' 0)  bb.tar.gz" >SHA256SUMS)
cp "$SRV/good/bb.tar.gz" "$SRV/good/SHA256SUMS" "$SRV/badsig/"
echo "something else" >"$WORK/other"
gpg_quiet --detach-sign -o "$SRV/badsig/SHA256SUMS.gpg" "$WORK/other"
gpgconf --kill gpg-agent 2>/dev/null || true
export NSPAWNLITE_IMPORT_KEYRING=$WORK/pubring.gpg

ip link set lo up
PORT=8931
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$SRV" >"$WORK/http.log" 2>&1 &
STARTED_PIDS+=("$!")
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" || die "the HTTP server did not start"
URL=http://127.0.0.1:$PORT

for verify in no checksum signature; do
        if "$NSPAWNLITE" pull-tar --verify="$verify" "$URL/good/bb.tar.gz" "pulled-$verify" 2>"$WORK/err" &&
                diff <(manifest "$STORE/pulled-$verify") "$WORK/src.manifest" >/dev/null; then
                pass "pull-tar --verify=$verify: the tree as exported"
        else
                fail "pull-tar --verify=$verify: $(cat "$WORK/err")"
        fi
done
"$NSPAWNLITE" pull-tar "$URL/good/bb.tar.gz" 2>"$WORK/err" && [ -d "$STORE/bb" ] &&
        pass "pull-tar verifies the signature by default and names the image 'bb'" ||
        fail "pull-tar default: $(cat "$WORK/err")"
"$NSPAWNLITE" pull-raw "$URL/good/disk.raw.zst" pulled-raw 2>"$WORK/err" &&
        [ "$(sha256sum <"$STORE/pulled-raw.raw" | cut -d' ' -f1)" = "$SUM" ] &&
        pass "pull-raw of a .zst image (signature checked): same sha256 as the image" ||
        fail "pull-raw: $(cat "$WORK/err")"
BASE="src disk.raw pulled-no pulled-checksum pulled-signature bb pulled-raw.raw"

refuse "pull-tar of a URL that 404s" "not found" "$NSPAWNLITE" pull-tar --verify=no "$URL/good/nosuch.tar" x1
refuse "pull-tar with a SHA256SUMS that 404s" "SHA256SUMS.*not found" \
        "$NSPAWNLITE" pull-tar --verify=checksum "$URL/nosuchdir/bb.tar.gz" x2
refuse "pull-tar with a wrong checksum" "Checksum mismatch" \
        "$NSPAWNLITE" pull-tar --verify=checksum "$URL/badsum/bb.tar.gz" x3
refuse "pull-tar with a bad signature" "Bad signature" "$NSPAWNLITE" pull-tar "$URL/badsig/bb.tar.gz" x4
refuse "pull-tar of a file SHA256SUMS does not list" "does not list" \
        "$NSPAWNLITE" pull-tar --verify=checksum "$URL/good/SHA256SUMS.gpg" x5
refuse "pull-tar without the keyring" "Keyring" env NSPAWNLITE_IMPORT_KEYRING="$WORK/none.gpg" \
        "$NSPAWNLITE" pull-tar "$URL/good/bb.tar.gz" x6
refuse "pull-raw of a tar (no image)" "no disk image" "$NSPAWNLITE" pull-raw --verify=no "$URL/good/bb.tar.gz" x7
refuse "pull-tar of a file:// URL" "Invalid URL" "$NSPAWNLITE" pull-tar --verify=no "file:///etc/passwd" x8
refuse "pull-tar --verify=bogus" "Invalid --verify" "$NSPAWNLITE" pull-tar --verify=bogus "$URL/good/bb.tar.gz" x9
refuse "pull-tar where nothing listens" "Failed to download" \
        env NSPAWNLITE_PULL_CONNECT_TIMEOUT_SEC=2 "$NSPAWNLITE" pull-tar --verify=no "http://127.0.0.1:1/a.tar" x10

# A server that accepts and never answers: the low-speed bound ends it in seconds.
HANG=8932
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)' "$HANG" &
STARTED_PIDS+=("$!")
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HANG" || die "the hanging server did not start"
t0=$(date +%s)
refuse "pull-tar from a server that never answers" "stalled or timed out" \
        env NSPAWNLITE_PULL_LOW_SPEED_TIME_SEC=2 NSPAWNLITE_PULL_CONNECT_TIMEOUT_SEC=2 \
        "$NSPAWNLITE" pull-tar --verify=no "http://127.0.0.1:$HANG/bb.tar" x11
took=$(($(date +%s) - t0))
[ "$took" -le 15 ] && pass "the hanging server cost $took s (bounded)" || fail "the hanging server cost $took s"

# shellcheck disable=SC2086
store_is $BASE && pass "failed pulls left nothing in the store" || fail "store after the failed pulls"

# SIGKILL of pull-tar midway through a download (a server that trickles): nothing at all is left,
# not even a temporary (the download is an unnamed file).
TRICKLE=8933
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept(); c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100000000\r\n\r\n")
    try:
        while True:
            c.sendall(b"\0" * 4096); time.sleep(0.1)
    except OSError:
        c.close()' "$TRICKLE" &
STARTED_PIDS+=("$!")
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TRICKLE" || die "the trickling server did not start"
"$NSPAWNLITE" pull-tar --verify=no "http://127.0.0.1:$TRICKLE/big.tar" trickled 2>"$WORK/pull-kill.err" &
PPID_PULL=$!
STARTED_PIDS+=("$PPID_PULL")
sleep 2
if process_alive "$PPID_PULL"; then
        kill -KILL "$PPID_PULL"
        wait "$PPID_PULL" 2>/dev/null || true
        # shellcheck disable=SC2086
        store_is $BASE && pass "SIGKILL of pull-tar midway: nothing in the store, no temporary" ||
                fail "after SIGKILL of pull-tar: $(ls -A "$STORE" | tr '\n' ' ')"
else
        fail "pull-tar from the trickling server ended early: $(cat "$WORK/pull-kill.err")"
fi
