#!/usr/bin/env bash
# Runs the policy simulator (seed vs optimal mode, with and without hysteresis) in
# release mode and prints its table. Extra environment: SIM_SEED=<n> (noise),
# SIM_ONLY=<scenario prefix>, SIM_VARIANT=<column name>, SIM_TRACE=1 (plan changes and
# overloads on stderr).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec cargo run --release --quiet -p broker-policy --example simulate
