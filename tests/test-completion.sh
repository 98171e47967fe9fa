#!/bin/bash
# The bash completion (shell-completion/bash/nspawnlite), sourced into bash with bash-completion
# loaded and without it, asked for completions the way bash asks (COMP_WORDS, COMP_CWORD,
# COMP_LINE, COMP_POINT): verbs and options agree with --help, option values, running machines
# (from `list --json`, or the runtime dir), store images from a fake store, files and directories.
# The zsh completion is syntax-checked, and loaded by compinit where zsh is installed. No root.
# Usage: test-completion.sh NSPAWNLITE
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
NSPAWNLITE=${1:-${NSPAWNLITE:-$TOP/build/nspawnlite}}
FAILURES=0
CHECKS=0
pass() { CHECKS=$((CHECKS + 1)); echo "PASS: $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILURES=$((FAILURES + 1)); echo "FAIL: $*"; }

[ -x "$NSPAWNLITE" ] || { echo "FAIL: $NSPAWNLITE not built"; exit 1; }
BC=/usr/share/bash-completion/bash_completion
[ -f "$BC" ] || { echo "SKIP: needs the bash-completion package"; exit 77; }

T=$(mktemp -d /tmp/nspawnlite-completion.XXXXXX)
trap 'rm -rf "$T"' EXIT

# A fake store: two directory images, a raw one, what list-images does not show.
export NSPAWNLITE_MACHINES_DIR=$T/store
mkdir -p "$T/store/debian" "$T/store/alpine" "$T/store/.#tmp-import" "$T/store/.hidden"
: >"$T/store/disk.raw"
: >"$T/store/debian.nspawn"
# A fake runtime dir: machines web and db (with a state file), a stray directory without one.
export NSPAWNLITE_RUNTIME_DIR=$T/run
mkdir -p "$T/run/machines/web" "$T/run/machines/db" "$T/run/machines/stray"
echo "name=web" >"$T/run/machines/web/state"
echo "name=db" >"$T/run/machines/db/state"
# A command that answers list --json as a root nspawnlite with two running machines would, and one
# that refuses (as nspawnlite does where it cannot read the registry).
printf '#!/bin/sh\n[ "$1 $2" = "list --json" ] && echo '"'"'[{"name":"alive1","state":"running"},{"name":"alive2","state":"running"}]'"'"'\n' >"$T/listing"
printf '#!/bin/sh\nexit 1\n' >"$T/refusing"
chmod +x "$T/listing" "$T/refusing"
mkdir -p "$T/files/rootfs-a" "$T/files/rootfs-b"
: >"$T/files/image.raw"

# Cases are gathered first, then asked in one bash per mode (bash-completion takes a while to load).
# comp_all MODE < CASES: for each line "CMD<TAB>LINE", what completing LINE (cursor at its end)
# offers, sorted, on one line. MODE is "bc" (bash-completion loaded) or "plain". The words are split
# as bash splits them (spaces, and '=' and ':' on their own, from COMP_WORDBREAKS); LINE's first
# word "nspawnlite" stands for CMD.
comp_all() {
        bash --norc --noprofile -c '
                [ "$1" = bc ] && . '"$BC"'
                . "$2/shell-completion/bash/nspawnlite"
                while IFS=$'"'\\t'"' read -r cmd line; do
                        line="$cmd ${line#nspawnlite }"
                        COMP_LINE=$line COMP_POINT=${#line}
                        COMP_WORDS=()
                        rest=$line
                        while [ -n "$rest" ]; do
                                if [[ $rest =~ ^[[:space:]]+ ]]; then rest=${rest:${#BASH_REMATCH}}; continue; fi
                                if [[ $rest =~ ^[=:] ]]; then COMP_WORDS+=("${rest:0:1}"); rest=${rest:1}; continue; fi
                                [[ $rest =~ ^[^[:space:]=:]+ ]]
                                COMP_WORDS+=("$BASH_REMATCH"); rest=${rest:${#BASH_REMATCH}}
                        done
                        [[ $line =~ [[:space:]]$ ]] && COMP_WORDS+=("")
                        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                        COMPREPLY=()
                        _nspawnlite "$cmd" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>&1
                        echo "${COMPREPLY[*]}"
                done
        ' _ "$1" "$TOP"
}

CASES=()
# expect CMD LINE EXPECTED WHAT: the completions of LINE are exactly EXPECTED (space separated).
expect() { CASES+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4"); } # (a tab would merge an empty field)

# sort_words VAR WORDS: VAR gets WORDS sorted, space separated (in bash: a case costs no process).
sort_words() {
        local -n _ret=$1
        local -a w=($2)
        local i j t
        for ((i = 1; i < ${#w[@]}; i++)); do
                for ((j = i; j > 0; j--)); do
                        [[ ${w[j - 1]} > ${w[j]} ]] || break
                        t=${w[j]} w[j]=${w[j - 1]} w[j - 1]=$t
                done
        done
        _ret="${w[*]}"
}

# check MODE: asks every case gathered so far in MODE.
check() {
        local got=() i cmd line want what g
        mapfile -t got < <(for i in "${CASES[@]}"; do IFS=$'\x1f' read -r cmd line _ <<<"$i"; printf '%s\t%s\n' "$cmd" "$line"; done | comp_all "$1")
        for i in "${!CASES[@]}"; do
                IFS=$'\x1f' read -r cmd line want what <<<"${CASES[i]}"
                sort_words want "$want"
                g=(none)
                [ "$i" -lt "${#got[@]}" ] && sort_words g "${got[i]}"
                if [ "$g" = "$want" ]; then
                        pass "$what ($1)"
                else
                        fail "$what ($1): '$line' gave '$g', expected '$want'"
                fi
        done
}

N=$NSPAWNLITE
expect "$N" "nspawnlite st" "status" "the verbs"
expect "$N" "nspawnlite boot --netw" "--network= --network-bridge= --network-veth" "an option of boot"
expect "$N" "nspawnlite boot --network=" "bridge bridge: veth none host" "--network= values"
expect "$N" "nspawnlite run --console=" "interactive read-only passive pipe autopipe" "--console= values"
expect "$N" "nspawnlite boot --volatile=" "yes no state overlay" "--volatile= values"
expect "$N" "nspawnlite boot --settings=" "yes no trusted override" "--settings= values"
expect "$N" "nspawnlite boot --register=" "yes no" "--register= values"
expect "$N" "nspawnlite boot --private-users-ownership=" "map chown" "--private-users-ownership= values"
expect "$N" "nspawnlite boot -M " "alpine debian disk" "-M: the store's images"
expect "$N" "nspawnlite run --machine=d" "debian disk" "--machine=: the store's images"
expect "$N" "nspawnlite remove alpine " "alpine debian disk" "remove: images, every argument"
expect "$N" "nspawnlite clone d" "debian disk" "clone: the source image"
expect "$N" "nspawnlite read-only debian " "yes no" "read-only: yes or no after the image"
expect "$N" "nspawnlite create x --distro=" "debian busybox" "create --distro= values"
expect "$N" "nspawnlite pull-tar --verify=" "no checksum signature" "pull-tar --verify= values"
expect "$N" "nspawnlite status --" "--help --json" "status: its options"
expect "$T/listing" "nspawnlite shell " "alive1 alive2" "shell: running machines from list --json"
expect "$T/listing" "nspawnlite poweroff a" "alive1 alive2" "poweroff: running machines from list --json"
expect "$T/refusing" "nspawnlite status " "db web" "status: the runtime dir's machines when list fails"
expect "$T/listing" "nspawnlite set-limit web cpu" "cpu-weight= cpu-quota=" "set-limit: the limit keys"
expect "$N" "nspawnlite boot --image=$T/files/im" "$T/files/image.raw" "--image=: files"
expect "$N" "nspawnlite boot $T/files/root" "$T/files/rootfs-a $T/files/rootfs-b" "ROOTFS: directories"
expect "$N" "nspawnlite boot -D $T/files/" "$T/files/rootfs-a $T/files/rootfs-b" "-D: directories only"
expect "$N" "nspawnlite boot $T/files/rootfs-a " "" "boot: nothing offered for the init's arguments"
expect "$N" "nspawnlite run $T/files/rootfs-a ech" "echo" "run: a command after ROOTFS"
check bc
check plain

# No store (or, for a user, one that cannot be read: it is 0700 on a real host): no names, silently.
OUT=$(printf '%s\tnspawnlite clone \n' "$N" | NSPAWNLITE_MACHINES_DIR=$T/none comp_all bc 2>&1)
if [ "$?" = 0 ] && [ -z "$OUT" ]; then pass "no store: no image names, nothing on stderr"; else fail "no store: '$OUT'"; fi

# The host's bridges for --network=bridge: and --network-bridge=: as root, in a network namespace
# of the test's own with one bridge, and one whose name would run a command if compgen -W saw it
# (interface names may hold $, ( and )): neither offered nor run.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null; then
        export BC TOP
        OUT=$(unshare --net --mount --propagation private bash -c "
                mount -t sysfs sysfs /sys && ip link add nlcomp0 type bridge || exit 1
                ip link add 'nl\$(id>&2)' type bridge || exit 1
                $(declare -f comp_all)
                printf '%s\\tnspawnlite boot --network=bridge:nl\\n%s\\tnspawnlite run --network-bridge=\\n' \"\$1\" \"\$1\" >/tmp/cases.\$\$
                comp_all bc </tmp/cases.\$\$; comp_all plain </tmp/cases.\$\$; rm -f /tmp/cases.\$\$" _ "$N" 2>&1)
        if [ "$OUT" = $'nlcomp0\nnlcomp0\nnlcomp0\nnlcomp0' ]; then
                pass "the host's bridges for --network=bridge: and --network-bridge= (bc and plain); a bridge named \$(…) is neither offered nor run"
        else
                fail "bridges: '$OUT'"
        fi
fi

# The verbs and the options of boot are those --help lists, no more, no fewer.
HELP_VERBS=$("$N" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | sort | tr '\n' ' ' | sed 's/ *$//')
rc=$?
sort_words COMP_VERBS "$(printf '%s\tnspawnlite \n' "$N" | comp_all bc)"
if [ "$rc" = 0 ] && [ -n "$HELP_VERBS" ] && [ "$HELP_VERBS" = "$COMP_VERBS" ]; then
        pass "the verbs completed are the verbs of --help"
else
        fail "verbs: --help has '$HELP_VERBS', completion '$COMP_VERBS'"
fi
HELP_OPTS=$("$N" boot --help | grep -o -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ' | sed 's/ *$//')
COMP_OPTS=$(printf '%s\tnspawnlite boot --\n' "$N" | comp_all bc | tr ' ' '\n' | sed 's/=$//' | sort -u |
        tr '\n' ' ' | sed 's/ *$//')
if [ -n "$HELP_OPTS" ] && [ "$HELP_OPTS" = "$COMP_OPTS" ]; then
        pass "the options of boot completed are those of boot --help"
else
        fail "boot options: --help has '$HELP_OPTS', completion '$COMP_OPTS'"
fi

# zsh: each line typed into an interactive zsh on a pty (zsh/zpty), then Ctrl-D lists the choices
# (verbs and options come with their descriptions); compinit finds _nspawnlite in fpath.
# zsh_comp LINE…: one line of choices per LINE, sorted.
zsh_comp() {
        HOME=$T T=$T TOP=$TOP timeout 60 zsh -f -c '
                zmodload zsh/zpty || exit 1
                zpty z "PATH=$T:\$PATH TERM=dumb PS1=\"> \" zsh -f -i"
                # Typing before zle waits at a prompt may be thrown away: wait for each prompt.
                zpty -r z out "*> " || exit 1
                zpty -w z "fpath=($TOP/shell-completion/zsh \$fpath); autoload -U compinit;
                        compinit -u -d $T/zcompdump; compdef _nspawnlite listing refusing; unset zle_bracketed_paste;
                        echo R\"\"EADY"
                zpty -r z out "*READY*> " || exit 1
                i=0
                for line in "$@"; do
                        i=$((i + 1))
                        zpty -w -n z "$line"$'"'"'\C-d\C-u'"'"'
                        zpty -w z "echo E\"\"ND$i"
                        zpty -r z out "*END$i*> " || exit 1
                        # out: the typed line, the choices, the line again at a prompt, END.
                        words=()
                        for l in ${${(f)${out//$'"'"'\r'"'"'/}}[2,-1]}; do
                                [[ $l == *"> "* || $l == END* ]] && continue
                                words+=(${=l})
                        done
                        print -r -- "${(j: :)words}"
                done
                zpty -d z' _ "$@"
}

ZSH_FILE=$TOP/shell-completion/zsh/_nspawnlite
if command -v zsh >/dev/null; then
        if out=$(zsh -n "$ZSH_FILE" 2>&1) && [ -z "$out" ]; then
                pass "zsh: _nspawnlite parses"
        else
                fail "zsh -n: $out"
        fi
        ZCASES=(
                "nspawnlite st|status -- show a machine's state, resources and limits"
                "nspawnlite boot --network=|bridge bridge: host none veth"
                "nspawnlite run --console=|autopipe interactive passive pipe read-only"
                "nspawnlite boot --settings=|no override trusted yes"
                "nspawnlite boot --private-users-ownership=|chown map"
                "nspawnlite boot -M |alpine debian disk"
                "nspawnlite clone |alpine debian disk"
                "nspawnlite read-only debian |no yes"
                "nspawnlite pull-raw --verify=|checksum no signature"
                "listing shell |alive1 alive2"
                "refusing status |db web"
        )
        ZLINES=()
        for c in "${ZCASES[@]}"; do ZLINES+=("${c%%|*}"); done
        mapfile -t ZGOT < <(zsh_comp "${ZLINES[@]}" 2>&1)
        for i in "${!ZCASES[@]}"; do
                want=${ZCASES[i]#*|}
                if [ "${ZGOT[i]-(none)}" = "$want" ]; then
                        pass "zsh: '${ZLINES[i]}' offers $want"
                else
                        fail "zsh: '${ZLINES[i]}' gave '${ZGOT[i]-(none)}', expected '$want'"
                fi
        done
else
        echo "(zsh not installed: the zsh completion is not checked)"
fi

echo "test-completion: $((CHECKS - FAILURES)) passed, $FAILURES failed"
[ "$FAILURES" = 0 ] && [ "$CHECKS" -gt 0 ]
