#!/bin/bash
# The documentation stands on its own: no file of the repository refers to notes kept outside it
# (a ../shared folder, reference/, anchors-*.md, security-tests.md, DESIGN.md), and every relative
# link of README.md and docs/*.md leads to a file or directory of the repository, and every page
# any file names by its path (docs/NAME.md, man/NAME.scd, in comments too) exists, so that a page
# removed or renamed leaves no pointer behind. Links into man/ are checked as soon as man/ exists
# (the man pages may land after this check); before, they are only listed. Prints each offence;
# exits 1 if there is one.
#
#   tests/style/docs.sh [DIR]     DIR: the tree to check (default: this repository)
#   tests/style/docs.sh --self-test   plant one offence of each kind in a scratch tree, expect them
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

# The names are split so that this file does not match itself.
OUTSIDE='\.\./shared|/work/shared|reference/|anchors-[a-z]*\.md|security-tests\.md|DESIGN''\.md'

# files: what the repository holds (git's list in a checkout, else every file but .git/ and
# build directories).
files() {
        if [ -e "$1/.git" ]; then
                git -C "$1" ls-files
        else
                find "$1" -type f -not -path "$1/.git/*" -not -path "$1/build*" -printf '%P\n'
        fi
}

# norm PATH: PATH (absolute) without its ".", ".." and empty components, in $REPLY; no fork,
# since this runs for every link.
norm() {
        local -a out=()
        local part
        IFS=/ read -r -a parts <<<"$1"
        for part in "${parts[@]}"; do
                case $part in
                '' | .) ;;
                ..) [ ${#out[@]} -gt 0 ] && unset 'out[-1]' ;;
                *) out+=("$part") ;;
                esac
        done
        local IFS=/
        REPLY=/${out[*]}
}

# check TOP: every offence on stdout as "FAIL: …"; returns how many (capped at 1).
check() {
        local top=$1 bad=0
        local -a all
        mapfile -t all < <(files "$top")

        # 1. References to notes outside the repository (this script names them, so it is skipped).
        local hits
        hits=$(cd "$top" && printf '%s\0' "${all[@]}" | grep -v -z -x 'tests/style/docs.sh' |
                xargs -0 -r grep -n -I -E "$OUTSIDE" -- 2>/dev/null)
        if [ -n "$hits" ]; then
                while IFS= read -r line; do
                        echo "FAIL: refers to a file outside the repository: $line"
                done <<<"$hits"
                bad=1
        else
                echo "PASS: no file refers to notes outside the repository (${#all[@]} files)"
        fi

        # 2. Pages named by their path anywhere (docs/X.md, man/X.scd; "../docs/X.md" too).
        local named line file page nbad=0 n=0
        named=$(cd "$top" && printf '%s\0' "${all[@]}" | grep -v -z -x 'tests/style/docs.sh' |
                xargs -0 -r grep -H -o -I -E '(^|[^A-Za-z0-9_.-])(docs/[A-Za-z0-9_.-]+\.md|man/[A-Za-z0-9_.-]+\.scd)' -- \
                        2>/dev/null)
        while IFS= read -r line; do
                [ -n "$line" ] || continue
                file=${line%%:*}
                page=${line#*:}
                page=${page#"${page%%[dm]*}"}
                n=$((n + 1))
                [ -e "$top/$page" ] && continue
                echo "FAIL: $file names $page, which does not exist"
                nbad=1
        done <<<"$named"
        if [ "$nbad" = 0 ]; then
                echo "PASS: every page a file names by its path exists ($n mentions)"
        else
                bad=1
        fi

        # 3. Relative links of README.md and docs/*.md: [text](target) and [label]: target.
        local links=0 skipped=0 lbad=0 doc dir target path root
        root=$(realpath "$top")
        for doc in "$root"/README.md "$root"/docs/*.md; do
                [ -f "$doc" ] || continue
                doc=${doc#"$root"/}
                while IFS= read -r target; do
                        case $target in
                        http://* | https://* | mailto:* | '#'*) continue ;;
                        esac
                        target=${target%%#*}
                        target=${target%% *}
                        dir=${doc%/*}
                        [ "$dir" = "$doc" ] && dir=.
                        norm "$root/$dir/$target"
                        path=$REPLY
                        links=$((links + 1))
                        case $path/ in
                        "$root"/*) ;;
                        *)
                                echo "FAIL: $doc links to $target, outside the repository"
                                lbad=1
                                continue
                                ;;
                        esac
                        [ -e "$path" ] && continue
                        if [[ ${path#"$root"/} == man/* ]] && [ ! -d "$root/man" ]; then
                                echo "SKIP: $doc links to $target (no man/ yet)"
                                skipped=$((skipped + 1))
                                continue
                        fi
                        echo "FAIL: $doc links to $target, which does not exist"
                        lbad=1
                done < <(grep -o -E '\]\([^)]+\)|^\[[^]]+\]: *[^ ]+' "$root/$doc" |
                        sed -E 's/^\]\(//; s/\)$//; s/^\[[^]]+\]: *//')
        done
        [ "$lbad" = 0 ] && echo "PASS: every relative link of README.md and docs/*.md leads somewhere ($links links, $skipped into a missing man/)"
        [ "$bad" = 0 ] && [ "$lbad" = 0 ]
}

# A scratch tree with one offence of each kind (and good links beside them): the check must name
# each, and pass once they are gone.
self_test() {
        local t out rc
        t=$(mktemp -d) || return 1
        # shellcheck disable=SC2064
        trap "rm -rf '$t'" RETURN
        mkdir -p "$t/docs" "$t/src"
        printf '# x\n[ok](docs/a.md) [gone](docs/missing.md) [out](../etc/passwd) [web](https://example.org/x)\n' >"$t/README.md"
        printf '[back](../README.md#x) [man](../man/x.1.scd)\n' >"$t/docs/a.md"
        printf '/* as reference/%s says */\n' 'security-tests.md' >"$t/src/a.c"
        printf '# as ../docs/gone.md says\n' >"$t/src/b.sh"
        out=$(check "$t")
        rc=$?
        local want
        for want in 'docs/missing.md, which does not exist' '../etc/passwd, outside the repository' \
                'src/a.c:1:' 'SKIP: docs/a.md links to ../man/x.1.scd' 'src/b.sh names docs/gone.md'; do
                if [[ $out != *"$want"* ]]; then
                        echo "FAIL: self-test: the check did not report '$want'; it said:"
                        echo "$out"
                        return 1
                fi
        done
        [ "$rc" = 1 ] || { echo "FAIL: self-test: the check exited $rc with offences, not 1"; return 1; }
        mkdir "$t/man"
        out=$(check "$t")
        [[ $out == *'links to ../man/x.1.scd, which does not exist'* ]] ||
                { echo "FAIL: self-test: a missing man page went unreported once man/ exists"; return 1; }
        printf '# x\n[ok](docs/a.md)\n' >"$t/README.md"
        printf '[back](../README.md#x)\n' >"$t/docs/a.md"
        rm "$t/src/a.c" "$t/src/b.sh"
        out=$(check "$t") || { echo "FAIL: self-test: a clean tree failed:"; echo "$out"; return 1; }
        echo "PASS: self-test: each planted offence is reported, a clean tree passes"
}

case ${1:-} in
--self-test) self_test ;;
*)
        self_test || exit 1
        check "${1:-$(cd "$HERE/../.." && pwd)}"
        ;;
esac
