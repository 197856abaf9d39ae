#!/usr/bin/env bash
# Fuzzes the l2-core protocol core (issue 6): builds every cargo-fuzz target in
# crates/l2-core/fuzz on the stable toolchain (`-s none`: coverage-guided libFuzzer, no
# sanitizer, which needs no nightly; `-a`: debug assertions and overflow checks on), then runs
# each for SECONDS_PER_TARGET seconds starting from the committed seed corpus.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]        default 60
#
# Environment:
#   FUZZ_TARGETS      space-separated subset of targets (default: all, from `cargo fuzz list`)
#   FUZZ_WORK_DIR     where the growing corpus and logs go (default: a fresh temporary directory;
#                     the committed seeds in crates/l2-core/fuzz/corpus/ are only read)
#   CARGO_TARGET_DIR  build directory (default: crates/l2-core/fuzz/target)
#
# Prints the executions each target ran and exits non-zero if any target crashed, timed out,
# ran out of memory or failed to run. Crashing inputs land in crates/l2-core/fuzz/artifacts/
# <target>/; reproduce one with
#   cargo fuzz run -s none -a --fuzz-dir crates/l2-core/fuzz <target> <artifact>
# Regenerate the seeds with
#   cargo run --manifest-path crates/l2-core/fuzz/Cargo.toml --example gen_corpus
set -euo pipefail

secs="${1:-60}"
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/crates/l2-core/fuzz"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$fuzz_dir/target}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

flags=(-s none -a --fuzz-dir "$fuzz_dir")
targets="${FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir "$fuzz_dir")}"
work="${FUZZ_WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/l2-core-fuzz.XXXXXX")}"
mkdir -p "$work"

echo "fuzz.sh: building $(echo $targets | wc -w) targets (stable, ${flags[*]:0:3})"
cargo fuzz build "${flags[@]}"

failed=()
summary=()
for t in $targets; do
    mkdir -p "$work/corpus/$t"
    log="$work/$t.log"
    echo "fuzz.sh: $t for ${secs}s (log: $log)"
    status=0
    # First corpus directory is written to, the committed seeds are only read. -timeout turns
    # a single input running for 10 s into a reported failure (hang).
    cargo fuzz run "${flags[@]}" "$t" "$work/corpus/$t" "$fuzz_dir/corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)"
    if [ -z "$execs" ]; then
        execs="$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -n 1)"
    fi
    rate="$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)"
    result="ok"
    if [ "$status" -ne 0 ] || grep -qE '^==[0-9]+== ERROR: libFuzzer|^SUMMARY: libFuzzer|panicked at' "$log"; then
        result="FAILED (exit $status)"
        failed+=("$t")
        echo "---- $t: last lines of $log"
        grep -E 'panicked at|ERROR: libFuzzer|Test unit written|SUMMARY' "$log" | head -n 10 || true
        tail -n 20 "$log"
        echo "----"
    fi
    line="$(printf '%-28s executions: %-12s exec/s: %-8s %s' "$t" "${execs:-?}" "${rate:-?}" "$result")"
    echo "$line"
    summary+=("$line")
done

echo
echo "fuzz.sh summary (${secs}s per target):"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz.sh: FAILED: ${failed[*]} (inputs in $fuzz_dir/artifacts/)" >&2
    exit 1
fi
echo "fuzz.sh: no crashes"
