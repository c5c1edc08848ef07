#!/usr/bin/env bash
# Build the libFuzzer targets with clang and run each one for a bounded time.
#
#   tests/fuzz/run.sh                     # every target, 60 s each
#   FUZZ_SECONDS=3600 tests/fuzz/run.sh xfer packet   # longer, some targets
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 60)
#   FUZZ_BUILD_DIR  build directory (default build-fuzz)
#   FUZZ_JOBS       parallel fuzzing processes per target (default 1)
#
# New inputs go to $FUZZ_BUILD_DIR/fuzz-corpus/<target>/ (kept between runs;
# the committed seeds in tests/fuzz/corpus/ are only read). A crash, leak,
# sanitizer report, timeout or out-of-memory writes the input to
# $FUZZ_BUILD_DIR/fuzz-artifacts/<target>/ and fails the script; replay it
# with: $FUZZ_BUILD_DIR/tests/fuzz/fuzz_<target> <artifact>
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${FUZZ_SECONDS:-60}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
all=(packet options oack netascii xfer pair remap clientmap demux httphdr)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi
for t in "${targets[@]}"; do
	case " ${all[*]} " in *" $t "*) ;; *) echo "fuzz: unknown target '$t' (${all[*]})" >&2; exit 2 ;; esac
done

if [ ! -f "$dir/build.ninja" ]; then
	CC=clang meson setup "$dir" -Dfuzz=true -Db_lundef=false >"$dir.setup.log" 2>&1 ||
		{ cat "$dir.setup.log"; exit 1; }
fi
ninja -C "$dir" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") >/dev/null ||
	{ ninja -C "$dir" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}"); exit 1; }

passed=0; failed=0; summary=()
for t in "${targets[@]}"; do
	exe="$dir/tests/fuzz/fuzz_$t"
	work="$dir/fuzz-corpus/$t"
	art="$dir/fuzz-artifacts/$t"
	log="$dir/fuzz-logs/$t.log"
	mkdir -p "$work" "$art" "$(dirname "$log")"
	echo "fuzz: $t for ${secs}s"
	args=(-max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -max_len=70000
		-print_final_stats=1 -artifact_prefix="$art/")
	if [ "$jobs" -gt 1 ]; then args+=(-fork="$jobs" -ignore_crashes=0); fi
	rc=0
	# The writable corpus first: libFuzzer adds new inputs to it only.
	timeout --kill-after=30 $((secs + 300)) \
		"$exe" "${args[@]}" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2 || true)
	line=$(printf '%-9s runs %-10s exec/s %-7s cov %-6s' "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}")
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1)); summary+=("$line ok")
	else
		failed=$((failed + 1)); summary+=("$line FAILED (exit $rc)")
		echo "fuzz: $t FAILED (exit $rc); last lines of $log:" >&2
		tail -n 60 "$log" >&2
		for a in "$art"/*; do
			[ -e "$a" ] && echo "fuzz: reproduce with: $exe $a" >&2
		done
	fi
done

echo "fuzz: summary (${secs}s per target)"
printf '  %s\n' "${summary[@]}"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
