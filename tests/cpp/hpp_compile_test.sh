#!/usr/bin/env bash
# What cpp/shmbus.hpp promises at compile time, with this machine's g++ and clang++:
# it compiles warning-free (-Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror) as C++17
# and C++20; it refuses C++14 and -fno-exceptions with a sentence; the typed classes refuse a
# T that is not trivially copyable, a pointer, or (to read) not default-constructible.
set -uo pipefail
R=${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE:-shmbus}
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/hpp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0 checks=0
inc=(-I"$R/core" -I"$R/cpp")
# compile OK|FAIL[:REGEX] COMPILER FLAGS... -- SOURCE
compile() {
  local want=$1 cxx=$2 src rc
  shift 2
  src=${*: -1}
  set -- "${@:1:$#-1}"
  printf '%s\n' "$src" >"$TMP/t.cc"
  "$cxx" "${inc[@]}" -fsyntax-only "$@" "$TMP/t.cc" >"$TMP/err" 2>&1
  rc=$?
  checks=$((checks + 1))
  case $want in
    OK) ((rc == 0)) || { echo "FAIL: $cxx $* should compile:"; head -5 "$TMP/err"; fails=$((fails + 1)); } ;;
    FAIL:*) if ((rc == 0)) || ! grep -Eq -- "${want#FAIL:}" "$TMP/err"; then
              echo "FAIL: $cxx $* should fail with /${want#FAIL:}/:"; head -5 "$TMP/err"; fails=$((fails + 1))
            fi ;;
  esac
}
use='#include <shmbus.hpp>
struct P { double x; unsigned long long seq; };
int main() {
  shmbus::TypedPublisher<P> p; shmbus::TypedSubscriber<P> s; shmbus::Subscriber b; shmbus::Publisher w;
  for (const auto& r : b.records()) (void)r.str();
  for (const auto& x : s.records()) (void)x.value.seq;
  return shmbus::version()[0] == 0;
}'
strict=(-Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)
compilers=(c++)
command -v clang++ >/dev/null && compilers+=(clang++)
for cxx in "${compilers[@]}"; do
  compile OK "$cxx" -std=c++17 "${strict[@]}" "$use"
  compile OK "$cxx" -std=c++20 "${strict[@]}" "$use"
done
# Refusals by #error: the preprocessor alone (-E) shows them.
compile 'FAIL:needs C\+\+17' c++ -E -std=c++14 "$use"
compile 'FAIL:with -fno-exceptions use <shmbus.h>' c++ -E -std=c++17 -fno-exceptions "$use"
# The typed static_asserts, one translation unit: the compiler reports every instantiation.
bad='#include <shmbus.hpp>
#include <string>
#include <vector>
struct N { N(int) {} int v; };
shmbus::TypedPublisher<std::string> a;
shmbus::TypedSubscriber<std::vector<int>> b;
shmbus::TypedPublisher<int*> c;
shmbus::TypedSubscriber<N> d(std::string("x"));'
compile 'FAIL:copied as bytes' c++ -std=c++17 "$bad"
for msg in 'copied as bytes' 'a pointer means nothing' 'a T made first'; do
  checks=$((checks + 1))
  grep -q "$msg" "$TMP/err" || { echo "FAIL: no static_assert '$msg' in:"; head -20 "$TMP/err"; fails=$((fails + 1)); }
done
if [ "$(grep -c 'copied as bytes' "$TMP/err")" -ge 2 ]; then checks=$((checks + 1)); else
  echo "FAIL: both non-trivially-copyable types should be refused"; fails=$((fails + 1)); fi
echo "$checks checks, $fails failed"
((fails == 0))
