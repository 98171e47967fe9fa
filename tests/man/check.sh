#!/bin/bash
# The man pages against the code, so that neither drifts from the other (README.md, Tests):
#   check.sh drift NSPAWNLITE VERSION  nspawnlite(1)'s OPTIONS and VERBS against boot --help and
#                                      --help (printed from the option and verb tables), the keys of
#                                      nspawnlite.nspawn(5) against cli/settings.c's table, and
#                                      --version against the project's version and the VERSION section,
#                                      and each page's "see SECTION" against the page's sections
#   check.sh render PAGE...            each built page renders under man --warnings without a word
#                                      on stderr (77 when scdoc did not build them or man is missing)
# Prints PASS/FAIL lines; exits 1 on a failure.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
MAN1=$TOP/man/nspawnlite.1.scd
MAN5=$TOP/man/nspawnlite.nspawn.5.scd
bad=0
pass() { echo "PASS: $*"; }
fail() {
        echo "FAIL: $*"
        bad=$((bad + 1))
}

# section FILE TITLE: the lines of a scdoc page's "# TITLE" section.
section() {
        awk -v t="# $2" '/^# / { on = ($0 == t) ; next } on' "$1"
}

# same WHAT LEFT-NAME LEFT RIGHT-NAME RIGHT: two newline-separated lists hold the same names.
same() {
        local only_left only_right
        only_left=$(comm -23 <(sort -u <<<"$3") <(sort -u <<<"$5") | tr '\n' ' ')
        only_right=$(comm -13 <(sort -u <<<"$3") <(sort -u <<<"$5") | tr '\n' ' ')
        if [ -z "$3" ] || [ -z "$5" ]; then
                fail "$1: nothing found in $([ -z "$3" ] && echo "$2" || echo "$4")"
        elif [ -n "$only_left$only_right" ]; then
                [ -z "$only_left" ] || fail "$1: in $2 but not in $4: $only_left"
                [ -z "$only_right" ] || fail "$1: in $4 but not in $2: $only_right"
        else
                pass "$1: $2 and $4 name the same $(sort -u <<<"$3" | wc -l)"
        fi
}

# xrefs PAGE: every "see SECTION" of a page (also "See A, B and C") names one of its "# SECTION"s,
# so that a section renamed or folded away leaves no reader pointed at nothing.
xrefs() {
        local heads refs r missing="" n=0
        heads=$(sed -nE 's/^# (.*)/\1/p' "$1")
        refs=$(tr '\n\t' '  ' <"$1" | grep -oE '[Ss]ee ([A-Z][A-Z-]+( [A-Z][A-Z-]+)*(, | and )?)+' |
                sed -E 's/^[Ss]ee //; s/, | and /\n/g' | sed -E 's/ +$//' | grep .)
        while IFS= read -r r; do
                [ -n "$r" ] || continue
                n=$((n + 1))
                grep -qxF -- "$r" <<<"$heads" || missing+=" '$r'"
        done <<<"$refs"
        if [ -n "$missing" ]; then
                fail "cross-references: $(basename "$1") points to sections it does not have:$missing"
        else
                pass "cross-references: the $n of $(basename "$1") name sections it has"
        fi
}

drift() {
        local nsp=$1 version=$2 help rc=0
        xrefs "$MAN1"
        xrefs "$MAN5"
        help=$("$nsp" boot --help) || rc=$?
        [ "$rc" = 0 ] || fail "boot --help exits $rc"
        # "  -D --directory=PATH", "     --bind=…", "  -U   …": the letters and the long names.
        local from_help from_man
        from_help=$(grep -E '^  (-[A-Za-z]|  ) (--[a-z]| )' <<<"$help" |
                sed -E 's/^  (-[A-Za-z]|  ) ?(--[a-z][a-z-]*)?.*/\1\n\2/' | grep -E '^-')
        from_man=$(section "$MAN1" OPTIONS | grep -E '^\*-' | grep -oE '\*--?[A-Za-z][a-z-]*\*' | tr -d '*')
        same "options" "boot --help (launch_options[])" "$from_help" "nspawnlite(1) OPTIONS" "$from_man"

        rc=0
        help=$("$nsp" --help) || rc=$?
        [ "$rc" = 0 ] || fail "--help exits $rc"
        from_help=$(sed -n '/^Verbs:/,/^$/p' <<<"$help" | grep -E '^  [a-z]' | awk '{ print $1 }')
        from_man=$(section "$MAN1" VERBS | grep -E '^\*[a-z]' | sed -E 's/^\*([a-z-]+)\*.*/\1/')
        same "verbs" "--help (verb_table[])" "$from_help" "nspawnlite(1) VERBS" "$from_man"

        # Each verb's own options (those its --help names) are in its entry of VERBS; boot's and
        # run's are the OPTIONS above.
        local v o entry verbs_man missing="" n=0
        verbs_man=$(section "$MAN1" VERBS)
        for v in $from_help; do
                case $v in boot | run | help) continue ;; esac
                entry=$(awk -v v="*$v*" 'index($0, v) == 1 { on = 1; print; next } /^[^\t]/ { on = 0 } on' \
                        <<<"$verbs_man")
                for o in $("$nsp" "$v" --help | grep -oE -- '--[a-z][a-z-]*'); do
                        [ "$o" = --help ] && continue
                        n=$((n + 1))
                        [[ $entry == *"*$o*"* ]] || missing+=" $v $o;"
                done
        done
        if [ -n "$missing" ]; then
                fail "verb options: named by the verb's --help but not in its nspawnlite(1) entry:$missing"
        else
                pass "verb options: the $n options the verbs' --help name are in their nspawnlite(1) entries"
        fi

        local s keys_code="" keys_man=""
        for s in Exec Files Network; do
                keys_code+=$(sed -nE "s/^ *\{ \"$s\", \"([A-Za-z]+)\".*/$s \1=/p" "$TOP/nspawnlite/cli/settings.c")$'\n'
                keys_man+=$(section "$MAN5" "[${s^^}] SECTION" | grep -E '^\*[A-Z]' |
                        grep -oE '\*[A-Z][A-Za-z]+=\*' | tr -d '*' | sed "s/^/$s /")$'\n'
        done
        same "settings keys" "cli/settings.c" "$(grep . <<<"$keys_code")" "nspawnlite.nspawn(5)" \
                "$(grep . <<<"$keys_man")"

        rc=0
        local out
        out=$("$nsp" --version) || rc=$?
        [ "$rc" = 0 ] || fail "--version exits $rc"
        if [ "$(head -n 1 <<<"$out")" = "nspawnlite $version" ]; then
                pass "--version: first line 'nspawnlite $version'"
        else
                fail "--version: first line '$(head -n 1 <<<"$out")', not 'nspawnlite $version'"
        fi
        from_help=$(sed -n 2p <<<"$out" | tr ' ' '\n' | grep -E '^[+-][A-Z]+$' | cut -c2-)
        from_man=$(section "$MAN1" VERSION | grep -oE '\*\+?[A-Z]{3,}\*' | tr -d '*+')
        same "features" "--version" "$from_help" "nspawnlite(1) VERSION" "$from_man"
}

render() {
        if [ "$#" = 0 ]; then
                echo "SKIP: no man page was built (scdoc is missing)"
                exit 77
        fi
        if ! command -v man >/dev/null; then
                echo "SKIP: man is not installed"
                exit 77
        fi
        local page err rc lines
        tmp=$(mktemp) || exit 1
        trap 'rm -f "$tmp"' EXIT
        for page; do
                rc=0
                # Warnings (groff's included) come on stderr; man's exit status ignores them.
                lines=$(MANWIDTH=80 man --warnings -l "$page" 2>"$tmp" | wc -l) || rc=$?
                err=$(cat "$tmp")
                if [ "$rc" != 0 ] || [ -n "$err" ] || [ "$lines" -lt 20 ]; then
                        fail "man --warnings -l $(basename "$page"): exit $rc, $lines lines, stderr: $err"
                else
                        pass "man --warnings -l $(basename "$page"): $lines lines, no warning"
                fi
        done
}

case ${1:-} in
drift)
        shift
        drift "$@"
        ;;
render)
        shift
        render "$@"
        ;;
*)
        echo "usage: $0 drift NSPAWNLITE VERSION | render PAGE..." >&2
        exit 2
        ;;
esac
[ "$bad" = 0 ]
