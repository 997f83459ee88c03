#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The manual pages: both render without a single groff warning, and each
# documents every option its program accepts, so that a new option cannot
# ship without its entry.  What the programs accept comes from themselves:
# `jr-netserver --help` (generated from config.c's option table), and for
# jrctl the getopt tables and option strings of tools/jrctl*.c plus what
# its --help lists.  An option counts as documented when it is the tag of an
# entry (.TP) of the page, not merely mentioned in a sentence.  jrctl's
# commands each need a section (.SS "jrctl COMMAND") and a completion.
#
#   man_test.sh JR_NETSERVER JRCTL SOURCE_DIR
set -euo pipefail

netserver=$1
jrctl=$2
src=$3
man=$src/Documentation/man
fail=0
bad() { echo "FAIL: $*"; fail=1; }

if ! command -v groff >/dev/null; then
	echo "SKIP: groff not installed (tools/jr-deps installs groff-base)"
	exit 77
fi

# 1. Rendering: -ww turns on every warning; -z discards the output.
for page in "$man/jr-netserver.8" "$man/jrctl.8"; do
	warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	[ -z "$warnings" ] || bad "$(basename "$page"): groff warns:"$'\n'"$warnings"
done

# The options a page documents: those in the tags of its .TP entries.
documented() {
	awk 'tag { print; tag = 0; next } /^\.T[PQ]/ { tag = 1 }' "$1" |
		sed -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\f\[[^]]*\]//g' \
		    -e 's/\\-/-/g' -e 's/\\[&%]//g' |
		{ grep -oE '(^|[^A-Za-z0-9-])--?[A-Za-z0-9][A-Za-z0-9-]*' || true; } |
		{ grep -oE -- '--?[A-Za-z0-9][A-Za-z0-9-]*' || true; } | sort -u
}

# The options a --help text lists: the first column of lines like
# "  -h, --help   show this help".
help_options() {
	sed -nE 's/^ +(-[^ ]+(, -[^ ]+)*).*/\1/p' | tr ',' '\n' | tr -d ' ' |
		{ grep -E -- '^--?[A-Za-z0-9]' || true; } | sort -u
}

# Each option of $2 (one per line) must be documented in page $1; at least
# $3 options must be there at all, or reading them went wrong.
check_options() {
	local page=$1 options=$2 least=$3 name opt have
	name=$(basename "$page")
	have=$(documented "$page")
	if [ "$(grep -c . <<<"$options")" -lt "$least" ]; then
		bad "$name: found only $(grep -c . <<<"$options") options to look for, expected $least or more:"$'\n'"$options"
		return
	fi
	for opt in $options; do
		grep -qxF -- "$opt" <<<"$have" ||
			bad "$name: option $opt has no entry"
	done
	echo "$name: $(grep -c . <<<"$options") options checked"
}

# 2. jr-netserver: every option of its --help.
ns_help=$("$netserver" --help) || bad "jr-netserver --help: status $?"
check_options "$man/jr-netserver.8" "$(help_options <<<"$ns_help")" 20

# 3. jrctl: the long options of its getopt tables, the short ones of its
# option strings, and those its help texts list.
jrctl_src=("$src"/tools/jrctl*.c)
jrctl_help=$("$jrctl" --help) || bad "jrctl --help: status $?"
supervise_help=$("$jrctl" supervise --help) || bad "jrctl supervise --help: status $?"
jrctl_options=$(
	{
		grep -ohE '\{ *"[A-Za-z0-9][A-Za-z0-9-]*" *, *(no|required|optional)_argument' "${jrctl_src[@]}" |
			sed -E 's/^\{ *"([^"]*)".*/--\1/'
		grep -ohE 'getopt(_long)? *\([^"]*"[^"]*"' "${jrctl_src[@]}" |
			sed -E 's/.*"([^"]*)"$/\1/' | tr -d '+:-' | grep -oE '[A-Za-z0-9]' |
			sed 's/^/-/'
		help_options <<<"$jrctl_help"
		help_options <<<"$supervise_help"
	} | sort -u
)
for opt in --delay-ms --max-delay-ms --max-failures --window --pidfile \
	   --device --user --engines --standby; do
	grep -qxF -- "$opt" <<<"$jrctl_options" ||
		bad "jrctl: supervise option $opt not found in tools/jrctl*.c or --help (test out of date?)"
done
check_options "$man/jrctl.8" "$jrctl_options" 9

# 4. jrctl's commands, as its usage names them: a section each, and
# offered by the bash completion.
commands=$(sed -nE 's/^(Usage:)? *jrctl ([a-z]+).*/\2/p' <<<"$jrctl_help" | sort -u)
grep -qx supervise <<<"$commands" || bad "jrctl --help names no commands: $commands"
completion=$src/tools/jrctl.bash-completion
bash -n "$completion" || bad "jrctl.bash-completion: syntax error"
offered=$(bash -c 'source "$1"; COMP_WORDS=(jrctl ""); COMP_CWORD=1; _jrctl
	printf "%s\n" "${COMPREPLY[@]}"' sh "$completion")
for cmd in $commands; do
	grep -qxF ".SS \"jrctl $cmd\"" "$man/jrctl.8" ||
		bad "jrctl.8: command $cmd has no section (.SS \"jrctl $cmd\")"
	grep -qxF "$cmd" <<<"$offered" ||
		bad "jrctl.bash-completion: command $cmd not offered"
done

[ "$fail" -eq 0 ] || exit 1
echo "man: all checks passed"
