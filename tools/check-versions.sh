#!/usr/bin/env bash
# Developer check: do src/*.c and src/*.h compile against the server headers
# of every PostgreSQL major version the extension supports (14 to 18)?
#
# Only PostgreSQL 15 can be installed on the development machines, so the
# headers of the other versions are prepared from PostgreSQL's own git
# history: src/include of that version's branch (git archive), plus the
# headers a build generates, made by that version's own Perl generators
# (genbki.pl, Gen_fmgrtab.pl, generate-errcodes.pl, generate-lwlocknames.pl,
# gen_node_support.pl from 16, generate-wait_event_types.pl from 17,
# Gen_dummy_probes.pl). pg_config.h is that version's pg_config.h.in filled
# in with the platform values of an installed pg_config.h (any version) and
# the version's own numbers; pg_config_os.h is its port/linux.h.
#
# Each file is compiled with gcc -fsyntax-only, with the -I layout of PGXS
# and the warning flags that version's configure would give gcc (read from
# its configure.ac and kept if this gcc accepts them), plus the Makefile's
# PG_CFLAGS. Implicit declarations and incompatible pointer or integer
# conversions are errors, as in gcc 14: a function missing from a version's
# headers must fail, not warn.
#
# Usage:  tools/check-versions.sh [VERSION ...]     (default: 14 15 16 17 18)
#         VERSION "installed" also compiles against pg_config's own headers.
#
# Needs git, perl and gcc, and a git copy of PostgreSQL that has the branches
# REL_14_STABLE .. REL_18_STABLE (or release tags REL_<major>_<minor>). With
# the workplace's search tool: fetch github:postgresql-cfbot/postgresql (the
# snapshot of postgres/postgres is too large for it); or, with network access,
# git clone --bare <any postgres/postgres mirror>. No network is used here.
#
# Environment:
#   PG_MIRROR          git directory of that copy (default: the first that
#                      exists of /work/.mirror/postgres+postgres/repo and
#                      /work/.mirror/postgresql-cfbot+postgresql/repo)
#   PG_HEADERS_CACHE   where prepared header trees are kept, one per commit
#                      (default /tmp/activity-pg-headers); reruns reuse them
#   PG_REF_<major>     a ref to use instead, e.g. PG_REF_17=REL_17_4
#   PG_CONFIG_H        an installed pg_config.h giving the platform values
#                      (default: pg_config --includedir-server, else
#                      /usr/include/postgresql/*/server/pg_config.h)
#   CC                 compiler (default gcc)
#   EXTRA_CFLAGS       appended to the flags (default "-g -O2")
#   WERROR=1           also fail on warnings
#   NICE=1             run perl and gcc under nice -n 19
#
# Prints each compiler diagnostic, then one summary line per version; exits 1
# if any version has an error.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PG_HEADERS_CACHE:-/tmp/activity-pg-headers}
CC=${CC:-gcc}
EXTRA_CFLAGS=${EXTRA_CFLAGS:--g -O2}
GEN_REV=3			# bump when the way trees are prepared changes
NICE_CMD=()
[ "${NICE:-0}" = 1 ] && NICE_CMD=(nice -n 19)

die() { echo "check-versions: $*" >&2; exit 2; }

if [ -z "${PG_MIRROR:-}" ]; then
	for d in /work/.mirror/postgres+postgres/repo /work/.mirror/postgresql-cfbot+postgresql/repo; do
		[ -d "$d" ] && { PG_MIRROR=$d; break; }
	done
fi
[ -n "${PG_MIRROR:-}" ] && [ -d "$PG_MIRROR" ] ||
	die "no PostgreSQL git copy: set PG_MIRROR (see the comment at the top of $0)"
[ -d "$PG_MIRROR/.git" ] && PG_MIRROR=$PG_MIRROR/.git	# a clone with a work tree
export GIT_DIR=$PG_MIRROR

if [ -z "${PG_CONFIG_H:-}" ]; then
	if command -v pg_config >/dev/null 2>&1; then
		PG_CONFIG_H=$(pg_config --includedir-server)/pg_config.h
	fi
	if [ ! -f "${PG_CONFIG_H:-}" ]; then
		PG_CONFIG_H=$(ls /usr/include/postgresql/*/server/pg_config.h 2>/dev/null | sort -V | tail -1)
	fi
fi
[ -f "${PG_CONFIG_H:-}" ] || die "no installed pg_config.h for the platform values: set PG_CONFIG_H"

# the ref of a major version: PG_REF_<major>, the stable branch, or its newest release tag
resolve_ref() {
	local v=$1 var="PG_REF_$1" ref
	if [ -n "${!var:-}" ]; then
		ref=${!var}
	elif git rev-parse -q --verify "refs/heads/REL_${v}_STABLE^{commit}" >/dev/null; then
		ref=REL_${v}_STABLE
	elif git rev-parse -q --verify "refs/remotes/origin/REL_${v}_STABLE^{commit}" >/dev/null; then
		ref=origin/REL_${v}_STABLE
	else
		ref=$(git for-each-ref --format='%(refname:short)' "refs/tags/REL_${v}_*" |
			grep -E "^REL_${v}_[0-9]+$" | sort -V | tail -1)
	fi
	[ -n "$ref" ] && git rev-parse -q --verify "$ref^{commit}" >/dev/null || return 1
	echo "$ref"
}

# a make variable's value (continuation lines joined) from a Makefile
make_var() {
	perl -e 'my ($f, $v) = @ARGV; open my $fh, "<", $f or exit 1; local $/; $_ = <$fh>;
		s/\\\n/ /g; print join(" ", split(" ", $1)), "\n" if /^\Q$v\E\s*[:+]?=[ \t]*(.*)$/m' "$1" "$2"
}

# pg_config.h for a version: its template filled with the platform values of
# an installed pg_config.h, this version's numbers, and glibc defaults for the
# symbols that the installed one's configure did not know (older or newer)
write_pg_config_h() {
	local template=$1 out=$2 version=$3 base_template base_major base_ref
	base_template=$(dirname "$out")/.base-pg_config.h.in
	: >"$base_template"
	base_major=$(perl -ne 'print $1 if /^#define PG_MAJORVERSION_NUM (\d+)/' "$PG_CONFIG_H")
	if [ -n "$base_major" ] && base_ref=$(resolve_ref "$base_major"); then
		git show "$base_ref:src/include/pg_config.h.in" >"$base_template" 2>/dev/null || : >"$base_template"
	fi
	perl - "$template" "$PG_CONFIG_H" "$version" "$base_template" >"$out" <<'PERL' || return 1
use strict;
use warnings;
my ($template, $base, $version, $base_template) = @ARGV;
my ($major, $minor) = $version =~ /^(\d+)(?:\.(\d+))?/ or die "bad version $version\n";
$minor //= 0;
my (%val, %known);
open my $b, '<', $base or die "$base: $!\n";
while (<$b>) { $val{$1} = $2 // '' if /^#define\s+(\w+)(?:\s+(.*?))?\s*$/; }
close $b;
# symbols the installed file's configure decided on (defined or not)
if (open my $bt, '<', $base_template) { while (<$bt>) { $known{$1} = 1 if /^#undef\s+(\w+)/; } }
# glibc/x86_64 values of symbols the installed file's configure did not know
my %glibc = (
	ALIGNOF_LONG_LONG_INT => 8, ALIGNOF_INT64_T => 8, SIZEOF_LONG_LONG => 8,
	HAVE_RANDOM => 1, HAVE_SRANDOM => 1, HAVE_GETTIMEOFDAY => 1,
	HAVE_STRTOQ => 1, HAVE_STRTOUQ => 1, HAVE___STRTOLL => 1, HAVE___STRTOULL => 1,
	HAVE_STRSEP => 1, HAVE_DECL_STRSEP => 1, HAVE_GETAUXVAL => 1, HAVE_COPY_FILE_RANGE => 1,
	HAVE_VISIBILITY_ATTRIBUTE => 1, HAVE_MEMORY_H => 1,
	HAVE_STRUCT_SOCKADDR_STORAGE___SS_FAMILY => 1,
	ACCEPT_TYPE_ARG1 => 'int', ACCEPT_TYPE_ARG2 => 'struct sockaddr *',
	ACCEPT_TYPE_ARG3 => 'socklen_t', ACCEPT_TYPE_RETURN => 'int');
for (keys %glibc) { $val{$_} = $glibc{$_} unless exists $val{$_} || $known{$_}; }
my %mine = (
	PG_MAJORVERSION => qq{"$major"}, PG_MAJORVERSION_NUM => $major,
	PG_MINORVERSION_NUM => $minor, PG_VERSION_NUM => $major * 10000 + $minor,
	PG_VERSION => qq{"$version"}, PACKAGE_VERSION => qq{"$version"},
	PACKAGE_STRING => qq{"PostgreSQL $version"},
	PG_VERSION_STR => qq{"PostgreSQL $version (headers for tools/check-versions.sh)"},
	CONFIGURE_ARGS => '""');
delete $val{ENABLE_DTRACE};	# utils/probes.h is the dummy one
open my $t, '<', $template or die "$template: $!\n";
while (<$t>) {
	if (/^#undef\s+(\w+)\s*$/) {
		my $s = $1;
		my $v = exists $mine{$s} ? $mine{$s} : $val{$s};
		print defined $v ? "#define $s $v\n" : "/* #undef $s */\n";
	} else {
		print;
	}
}
PERL
}

# gcc flags a version's configure would choose: its unconditional -W flags and
# each optional one this compiler accepts (as configure tests them)
version_cflags() {
	local configure_ac=$1 f flags=()
	# tried on top of the flags kept so far, as configure does (-Wformat-security needs -Wall)
	cc_accepts() { "$CC" "${flags[@]}" -Werror "$1" -x c -c /dev/null -o /dev/null >/dev/null 2>&1; }
	while read -r kind f; do
		case $kind in
			base) flags+=("$f") ;;
			opt) [[ $f == -std=* ]] || { cc_accepts "$f" && flags+=("$f"); } ;;
			not) cc_accepts "$f" && flags+=("-Wno-${f#-W}") ;;
			module) cc_accepts "$f" && flags+=("$f") ;;
		esac
	done < <(perl -ne '
		if (!$base && /^\s*CFLAGS="(-Wall[^"]*)"/) { $base = 1; print "base $_\n" for split " ", $1; }
		print "opt $1\n" while /PGAC_PROG_CC_CFLAGS_OPT\(\[([^\]]+)\]\)/g;
		print "not $1\n" while /PGAC_PROG_CC_VAR_OPT\(NOT_THE_CFLAGS,\s*\[([^\]]+)\]\)/g;
		print "module $1\n" while /PGAC_PROG_CC_VAR_OPT\(CFLAGS_SL_MODULE,\s*\[([^\]]+)\]\)/g;' "$configure_ac" | awk '!seen[$0]++')
	echo "${flags[*]}"
}

# Prepare (once per commit) the header tree of major version v from ref;
# prints its directory
prepare_tree() {
	local v=$1 ref=$2 sha dir tmp inc be out p hdrs version
	sha=$(git rev-parse --short=10 "$ref^{commit}") || return 1
	dir=$CACHE/pg$v-$sha-g$GEN_REV
	if [ -f "$dir/.ready" ]; then echo "$dir"; return 0; fi
	mkdir -p "$CACHE" || return 1
	tmp=$(mktemp -d "$CACHE/.pg$v-XXXXXX") || return 1
	local paths=() want=(
		configure.ac src/include
		src/backend/catalog/genbki.pl src/backend/catalog/Catalog.pm src/backend/catalog/Makefile
		src/backend/utils/Gen_fmgrtab.pl src/backend/utils/generate-errcodes.pl src/backend/utils/errcodes.txt
		src/backend/utils/Gen_dummy_probes.pl src/backend/utils/probes.d
		src/backend/utils/activity/generate-wait_event_types.pl src/backend/utils/activity/wait_event_names.txt
		src/backend/storage/lmgr/generate-lwlocknames.pl src/backend/storage/lmgr/lwlocknames.txt
		src/backend/nodes/gen_node_support.pl src/backend/nodes/Makefile)
	for p in "${want[@]}"; do
		git cat-file -e "$ref:$p" 2>/dev/null && paths+=("$p")
	done
	(
		set -e
		git archive --format=tar "$ref" -- "${paths[@]}" | tar -x -C "$tmp"
		inc=$tmp/src/include
		be=$tmp/src/backend
		out=$tmp/generated
		mkdir -p "$out"/catalog "$out"/utils "$out"/nodes "$out"/lmgr "$out"/wait
		version=$(perl -ne 'if (/^AC_INIT\(\[PostgreSQL\],\s*\[([^\]]+)\]/) { print $1; exit }' "$tmp/configure.ac")
		[ -n "$version" ]
		run() { "${NICE_CMD[@]}" "$@"; }

		# catalog/*_d.h, schemapg.h, system_fk_info.h, syscache_*.h (17+)
		hdrs=$(make_var "$inc/catalog/Makefile" CATALOG_HEADERS 2>/dev/null || true)
		[ -n "$hdrs" ] || hdrs=$(make_var "$be/catalog/Makefile" CATALOG_HEADERS)
		[ -n "$hdrs" ]
		(cd "$out/catalog" && run perl -I "$be/catalog" "$be/catalog/genbki.pl" \
			--include-path="$inc/" --set-version="$v" --output="$out/catalog/" \
			$(for p in $hdrs; do echo "$inc/catalog/$p"; done))
		cp "$out"/catalog/*.h "$inc/catalog/"

		# utils/fmgroids.h, utils/fmgrprotos.h
		run perl -I "$be/catalog" "$be/utils/Gen_fmgrtab.pl" --include-path="$inc/" \
			--output="$out/utils/" "$inc/catalog/pg_proc.dat"
		cp "$out/utils/fmgroids.h" "$out/utils/fmgrprotos.h" "$inc/utils/"

		# utils/errcodes.h
		run perl "$be/utils/generate-errcodes.pl" "$be/utils/errcodes.txt" >"$inc/utils/errcodes.h"

		# utils/probes.h, without dtrace (14-16: an s2p translation of a sed script)
		if grep -q 's2p' "$be/utils/Gen_dummy_probes.pl"; then
			run perl "$be/utils/Gen_dummy_probes.pl" "$be/utils/probes.d" >"$inc/utils/probes.h"
		else
			run perl -n "$be/utils/Gen_dummy_probes.pl" "$be/utils/probes.d" >"$inc/utils/probes.h"
		fi

		# storage/lwlocknames.h (14-16 from lwlocknames.txt, 17+ from lwlocklist.h)
		if [ -f "$be/storage/lmgr/lwlocknames.txt" ]; then
			(cd "$out/lmgr" && run perl "$be/storage/lmgr/generate-lwlocknames.pl" "$be/storage/lmgr/lwlocknames.txt")
		else
			(cd "$out/lmgr" && run perl "$be/storage/lmgr/generate-lwlocknames.pl" \
				"$inc/storage/lwlocklist.h" "$be/utils/activity/wait_event_names.txt")
		fi
		cp "$out/lmgr/lwlocknames.h" "$inc/storage/"

		# nodes/nodetags.h (16+)
		if [ -f "$be/nodes/gen_node_support.pl" ]; then
			hdrs=$(make_var "$be/nodes/Makefile" node_headers)
			[ -n "$hdrs" ]
			(cd "$out/nodes" && run perl "$be/nodes/gen_node_support.pl" --outdir "$out/nodes" \
				$(for p in $hdrs; do echo "$inc/$p"; done))
			cp "$out/nodes/nodetags.h" "$inc/nodes/"
		fi

		# utils/wait_event_types.h (17+)
		if [ -f "$be/utils/activity/generate-wait_event_types.pl" ]; then
			(cd "$out/wait" && run perl "$be/utils/activity/generate-wait_event_types.pl" \
				--code "$be/utils/activity/wait_event_names.txt")
			cp "$out/wait/wait_event_types.h" "$inc/utils/"
		fi

		# pg_config.h, pg_config_os.h, pg_config_ext.h (14-17)
		write_pg_config_h "$inc/pg_config.h.in" "$inc/pg_config.h" "$version"
		rm -f "$inc/.base-pg_config.h.in"
		cp "$inc/port/linux.h" "$inc/pg_config_os.h"
		if [ -f "$inc/pg_config_ext.h.in" ]; then
			sed -e 's/^#undef PG_INT64_TYPE$/#define PG_INT64_TYPE long int/' \
				"$inc/pg_config_ext.h.in" >"$inc/pg_config_ext.h"
		fi

		echo "$version" >"$tmp/version"
		rm -rf "$out"
	) >"$tmp.log" 2>&1 || {
		echo "check-versions: preparing the PostgreSQL $v headers ($ref) failed:" >&2
		cat "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		return 1
	}
	rm -f "$tmp.log"
	touch "$tmp/.ready"
	[ -f "$dir/.ready" ] || rm -rf "$dir"
	if ! mv -T "$tmp" "$dir" 2>/dev/null; then
		rm -rf "$tmp"		# another run prepared it meanwhile
		[ -f "$dir/.ready" ] || return 1
	fi
	echo "$dir"
}

# the project's own flags (Makefile)
PROJECT_CFLAGS=$(make_var "$ROOT/Makefile" PG_CFLAGS)
PROJECT_CPPFLAGS=$(make_var "$ROOT/Makefile" PG_CPPFLAGS)
# what gcc 14 rejects by default: a function or type missing from a version's
# headers must be an error here, not a warning
API_ERRORS="-Werror=implicit-function-declaration -Werror=implicit-int -Werror=incompatible-pointer-types -Werror=int-conversion"
[ "${WERROR:-0}" = 1 ] && API_ERRORS="$API_ERRORS -Werror"

# compile every source and header; prints diagnostics, sets RESULT
compile_all() {
	local label=$1 cflags=$2 cppflags=$3 f log nerr=0 nwarn=0 nfiles=0 nfail=0 e w
	log=$(mktemp)
	cd "$ROOT" || return 1
	for f in src/*.c src/*.h; do
		[ -e "$f" ] || continue
		nfiles=$((nfiles + 1))
		# shellcheck disable=SC2086
		"${NICE_CMD[@]}" "$CC" -fsyntax-only $cflags $PROJECT_CFLAGS $EXTRA_CFLAGS $API_ERRORS \
			$PROJECT_CPPFLAGS -I. -I./ $cppflags -x c "$f" >"$log" 2>&1
		local rc=$?
		e=$(grep -c ': error: ' "$log")
		w=$(grep -c ': warning: ' "$log")
		if [ $rc -ne 0 ] && [ "$e" -eq 0 ]; then e=1; fi
		nerr=$((nerr + e))
		nwarn=$((nwarn + w))
		[ $rc -ne 0 ] && nfail=$((nfail + 1))
		[ -s "$log" ] && sed "s/^/[$label] /" "$log"
	done
	rm -f "$log"
	RESULT="$nfiles files, $nfail failed, $nerr errors, $nwarn warnings"
	[ $nfail -eq 0 ]
}

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(14 15 16 17 18)
summary=()
status=0
for v in "${versions[@]}"; do
	if [ "$v" = installed ]; then
		command -v pg_config >/dev/null 2>&1 || die "no pg_config for \"installed\""
		server=$(pg_config --includedir-server)
		label="installed $(pg_config --version | sed -E 's/^PostgreSQL ([^ ]+).*/\1/')"
		if compile_all "$label" "$(pg_config --cflags) $(pg_config --cflags_sl)" \
			"-I$server -I$(pg_config --includedir)/internal $(pg_config --cppflags)"; then
			summary+=("PG $label ($server): $RESULT -- OK")
		else
			summary+=("PG $label ($server): $RESULT -- FAILED")
			status=1
		fi
		continue
	fi
	[[ $v =~ ^[0-9]+$ ]] || die "not a major version: $v"
	ref=$(resolve_ref "$v") || {
		var="PG_REF_$v"
		if [ -n "${!var:-}" ]; then
			summary+=("PG $v: $var=${!var} is not a commit in $PG_MIRROR -- FAILED")
		else
			summary+=("PG $v: no branch REL_${v}_STABLE nor tag REL_${v}_* in $PG_MIRROR -- FAILED")
		fi
		status=1
		continue
	}
	dir=$(prepare_tree "$v" "$ref") || {
		summary+=("PG $v ($ref): could not prepare the headers -- FAILED")
		status=1
		continue
	}
	version=$(cat "$dir/version")
	at="$ref @ $(git rev-parse --short=10 "$ref^{commit}")"
	cflags=$(version_cflags "$dir/configure.ac")
	if compile_all "pg$v" "$cflags -fPIC" "-I$dir/src/include -D_GNU_SOURCE"; then
		summary+=("PG $version ($at): $RESULT -- OK")
	else
		summary+=("PG $version ($at): $RESULT -- FAILED")
		status=1
	fi
done

echo
echo "== check-versions summary"
printf '%s\n' "${summary[@]}"
exit $status
