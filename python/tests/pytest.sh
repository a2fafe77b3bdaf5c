#!/usr/bin/env bash
# Runs python/tests with Debian's python3 and pytest against the Bazel-built extension
# (//python:python_test). The package is assembled in $TEST_TMPDIR: python/shmbus/*.py(i)
# and bazel-bin/python/_shmbus.so. pytest's own status is the test's: 5 ("no tests were
# collected") fails like any other non-zero status. Its JUnit XML goes where Bazel wants it,
# with the case counts on <testsuites> for .ci/test's tally.
# $1: the sanitizer of the build ("", asan, tsan).
set -euo pipefail
sanitizer=${1:-}
R=${TEST_SRCDIR:?run through bazel test}/${TEST_WORKSPACE:-shmbus}
PY=/usr/bin/python3   # Debian's: the one python3-dev built the extension for
tmp=${TEST_TMPDIR:-$(mktemp -d)}

pkg=$tmp/pkg/shmbus
mkdir -p "$pkg"
cp -L "$R"/python/shmbus/* "$pkg/"
cp -L "$R/python/_shmbus.so" "$pkg/"
export PYTHONPATH=$tmp/pkg
export SHMBUS_TOOLS=$R/tools SHMBUS_SRC=$R
export PYTHONDONTWRITEBYTECODE=1

case $sanitizer in
  asan)
    # An ASan-built extension loads into a python3 that is not: the runtime must come first.
    # CPython keeps objects alive at exit on purpose: leak reports would be noise.
    LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
    export LD_PRELOAD
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:verify_asan_link_order=0
    # The extension must really be instrumented, and the preloaded runtime must catch a
    # heap overflow in this python3 (the negative control: a malloc'd 16 bytes, 32 written).
    grep -q __asan_report < <(nm -D "$R/python/_shmbus.so") || {
      echo "python_test: _shmbus.so is not ASan-instrumented under --config=asan" >&2; exit 1; }
    "$PY" -c 'import ctypes; c = ctypes.CDLL(None); c.malloc.restype = ctypes.c_void_p
p = c.malloc(16); ctypes.memset(p, 0, 32)' 2>"$tmp/control.err" && true
    grep -q heap-buffer-overflow "$tmp/control.err" || {
      echo "python_test: the ASan control overflow was not caught" >&2; exit 1; }
    echo "python_test: ASan control caught (heap-buffer-overflow); running the tests under ASan"
    ;;
  tsan)
    # CPython itself is not TSan-instrumented (its GIL hand-offs would all be reported):
    # the Python tests run under the default and asan configs only.
    echo "python_test: skipped under TSan (CPython is not instrumented); see python/README.md"
    exit 0
    ;;
esac

xml=${XML_OUTPUT_FILE:-$tmp/pytest.xml}
rc=0
# --import-mode=importlib: the tests import shmbus from $PYTHONPATH, never from the tree.
(cd "$tmp" && "$PY" -m pytest -p no:cacheprovider --import-mode=importlib -q \
   --basetemp="$tmp/pytest" \
   --junitxml="$xml" "$R/python/tests") || rc=$?
if [ -f "$xml" ]; then
  "$PY" - "$xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
p = sys.argv[1]; t = ET.parse(p); root = t.getroot()
if root.tag == "testsuites":
    for a in ("tests", "failures", "errors", "skipped"):
        root.set(a, str(sum(int(s.get(a, 0)) for s in root.iter("testsuite"))))
    t.write(p)
PYEOF
fi
if [ "$rc" -eq 5 ]; then
  echo "python_test: pytest collected no tests: that is a failure" >&2
fi
exit "$rc"
