#!/usr/bin/env bash
# Memory-safety checks of the native data plane (`npm run test:native-safety`; .ci/run runs it once):
#  1. every fuzz harness native/fuzz/fuzz_*.cc (udp_port, srtp, rtp_history, turn_framing), built with clang's libFuzzer + AddressSanitizer + UBSan
#     against the addon's core files (native/src/*.cc but addon.cc and *_binding.cc: no Node-API), runs
#     for FUZZ_SECONDS (default 20) from a seed-free start; any crash, leak or sanitizer report fails;
#  2. the addon rebuilt with AddressSanitizer (g++) and the addon's tests (test/native/, test/dataplane/) run against it,
#     with ASan preloaded into node (SHOAL_NATIVE_ADDON points the loader at that build).
# Needs clang and libclang-rt-14-dev (libFuzzer); .ci/run installs them. Builds go to .tmp/native-safety/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
out=.tmp/native-safety
mkdir -p "$out"
node_include=$(node -p "require('path').join(require('path').dirname(require('path').dirname(process.execPath)), 'include', 'node')")
addon_api=$(node -p "require('node-addon-api').include_dir")
libcrypto=$(ls /usr/lib/x86_64-linux-gnu/libcrypto.so.3 2>/dev/null || ls /usr/lib/*/libcrypto.so.3 | head -1)
core=()
for f in native/src/*.cc; do
  case "$f" in native/src/addon.cc | native/src/*_binding.cc) ;; *) core+=("$f") ;; esac
done

command -v clang++ >/dev/null || { echo "clang++ is not installed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

echo "== fuzzing the native parsers: ${seconds}s each =="
for harness in native/fuzz/fuzz_*.cc; do
  name=$(basename "$harness" .cc)
  clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Inative/src -I"$node_include" "$harness" "${core[@]}" "$libcrypto" -o "$out/$name"
  mkdir -p "$out/$name.corpus"
  # -rss_limit_mb bounds memory; -timeout flags a single slow input; artifacts (crashing inputs) are kept in $out.
  "$out/$name" "$out/$name.corpus" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=5 \
    -artifact_prefix="$out/$name-" -print_final_stats=1 2>"$out/$name.log" || {
    tail -40 "$out/$name.log" >&2
    echo "$name: the fuzzer found a failure (input kept as $out/$name-*)" >&2
    exit 1
  }
  echo "$name: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$out/$name.log" | grep -o '[0-9]*$') inputs, no failure"
done

echo "== the addon's unit tests under AddressSanitizer =="
asan_dir="$out/asan"
mkdir -p "$asan_dir"
g++ -std=c++17 -g -O1 -fsanitize=address -fno-omit-frame-pointer -shared -fPIC -fexceptions \
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DOPENSSL_API_COMPAT=0x10100000L \
  -I"$addon_api" -I"$node_include" native/src/*.cc -o "$asan_dir/shoal_native.node"
libasan=$(g++ -print-file-name=libasan.so)
# Leak checking is off: V8 and Node keep memory until exit by design; ASan still reports every invalid access.
SHOAL_NATIVE_ADDON="$PWD/$asan_dir/shoal_native.node" LD_PRELOAD="$libasan" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  node --import tsx --test --test-concurrency=1 test/native/*.test.ts test/dataplane/*.test.ts
echo "native safety checks passed"
