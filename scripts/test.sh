#!/usr/bin/env bash
# The whole test suite: cargo tests of every crate, then jest. Prints each runner's own summary
# and ends with one line totalling both: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

echo "== cargo test (workspace, release)"
L2_BIG_TRANSFER_MIB=${L2_BIG_TRANSFER_MIB:-256} cargo test --release --workspace --color never 2>&1 | tee "$log/cargo"
cargo_rc=${PIPESTATUS[0]}
echo "== known-answer vectors (cargo, with counts)"
cargo test --release -p l2-core --test vectors --color never -- --nocapture 2>&1 | grep -E "cases passed|vectors passed|differential" || true

echo "== jest"
npx jest --ci --colors=false 2>&1 | tee "$log/jest"
jest_rc=${PIPESTATUS[0]}

echo "== QUIC interop (aioquic against our endpoint)"
bash scripts/interop.sh 2>&1 | tee "$log/interop"

echo "== fuzzing the protocol core (${L2_FUZZ_SECONDS:-10} s per target; longer runs: scripts/fuzz.sh 600)"
bash scripts/fuzz.sh "${L2_FUZZ_SECONDS:-10}" 2>&1 | tee "$log/fuzz"
fuzz_rc=${PIPESTATUS[0]}

cargo_passed=$(grep -Eo '[0-9]+ passed' "$log/cargo" | awk '{s+=$1} END {print s+0}')
cargo_failed=$(grep -Eo '[0-9]+ failed' "$log/cargo" | awk '{s+=$1} END {print s+0}')
jest_line=$(grep -E '^Tests:' "$log/jest" | tail -1)
jest_passed=$(echo "$jest_line" | grep -Eo '[0-9]+ passed' | awk '{print $1+0}')
jest_failed=$(echo "$jest_line" | grep -Eo '[0-9]+ failed' | awk '{print $1+0}')
interop_passed=$(grep -Eo 'interop: [0-9]+ passed' "$log/interop" | grep -Eo '[0-9]+' || echo 0)
interop_failed=$(grep -Eo '[0-9]+ failed' "$log/interop" | tail -1 | grep -Eo '[0-9]+' || echo 1)
# One count per fuzz target from fuzz.sh's summary ("<target> executions: N exec/s: N ok|FAILED").
fuzz_passed=$(grep -cE '^  [a-z_0-9]+ +executions: .* ok$' "$log/fuzz" || true)
fuzz_failed=$(grep -cE '^  [a-z_0-9]+ +executions: .* FAILED' "$log/fuzz" || true)
if [ "$fuzz_rc" -ne 0 ] && [ "$fuzz_failed" -eq 0 ]; then fuzz_failed=1; fi
passed=$((cargo_passed + ${jest_passed:-0} + interop_passed + fuzz_passed))
failed=$((cargo_failed + ${jest_failed:-0} + interop_failed + fuzz_failed))
# A runner that crashed before reporting counts as a failure, never as silence.
if [ "$cargo_rc" -ne 0 ] && [ "$cargo_failed" -eq 0 ]; then failed=$((failed + 1)); fi
if [ "$jest_rc" -ne 0 ] && [ "${jest_failed:-0}" -eq 0 ]; then failed=$((failed + 1)); fi

echo "cargo: ${cargo_passed} passed, ${cargo_failed} failed; jest: ${jest_passed:-0} passed, ${jest_failed:-0} failed; interop: ${interop_passed} passed, ${interop_failed} failed; fuzz targets: ${fuzz_passed} passed, ${fuzz_failed} failed"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
