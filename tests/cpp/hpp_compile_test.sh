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
compile 'FAIL:needs C\+\+17' c++ -std=c++14 "$use"
compile 'FAIL:with -fno-exceptions use <shmbus.h>' c++ -std=c++17 -fno-exceptions "$use"
compile 'FAIL:copied as bytes' c++ -std=c++17 '#include <shmbus.hpp>
#include <string>
shmbus::TypedPublisher<std::string> p;'
compile 'FAIL:copied as bytes' c++ -std=c++17 '#include <shmbus.hpp>
#include <vector>
shmbus::TypedSubscriber<std::vector<int>> s;'
compile 'FAIL:a pointer means nothing' c++ -std=c++17 '#include <shmbus.hpp>
shmbus::TypedPublisher<int*> p;'
compile 'FAIL:a T made first' c++ -std=c++17 '#include <shmbus.hpp>
struct N { N(int) {} int v; };
shmbus::TypedSubscriber<N> s;'
echo "$checks checks, $fails failed"
((fails == 0))
