"""Builds the shmbus extension for pip: `pip install ./python --no-build-isolation` (from the
repository root, offline, with Debian's python3-setuptools and python3-dev).

The C library is compiled into the extension from ../core, and the typed-records library
from ../types (Debian libcycloneddsidl via cyclonedds-dev, and libjansson-dev), when this
folder sits in the shmbus tree (as Bazel links them); elsewhere it links an installed
libshmbus (pkg-config shmbus) and libshmbus_types. The types library's objects are in the
extension itself, not a shared library of their own: its idl_log.c defines idl_error() and
friends, which must take the place of libcycloneddsidl's (types/BUILD links it statically for
the same reason; ELF interposition finds the extension's definitions before the library's).
The flags are the project's: C11, _GNU_SOURCE, -Wall -Wextra -Werror.
"""
import glob
import os
import shlex
import subprocess

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # the core's sources include "core/internal.h"
CORE = os.path.join(ROOT, "core")
TYPES = os.path.join(ROOT, "types")
FLAGS = ["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-fno-strict-aliasing"]
# The core builds warning-free at -O2 (as Python builds extensions): no flags of its own.
CORE_FLAGS = []

if os.path.exists(os.path.join(CORE, "shmbus.h")):
    # The library's sources, minus the liburcu view (not used here).
    # Relative paths (setuptools runs here): the objects land under build/, not in /.
    core = sorted(os.path.relpath(c, HERE) for c in glob.glob(os.path.join(CORE, "*.c"))
                  if not c.endswith("/view.c"))
    # The typed-records library: its sources as types/BUILD lists them (no test drivers).
    types = sorted(os.path.relpath(c, HERE) for c in glob.glob(os.path.join(TYPES, "*.c"))
                   if not c.endswith(("/typecat.c",)))
    ext = Extension("shmbus._shmbus", sources=["src/shmbus_module.c"] + core + types,
                    include_dirs=[ROOT, CORE], extra_compile_args=FLAGS + CORE_FLAGS,
                    extra_link_args=["-pthread", "-lcycloneddsidl", "-ljansson", "-lm"])
else:
    def pkg(opt):
        return shlex.split(subprocess.check_output(["pkg-config", opt, "shmbus"], text=True))
    ext = Extension("shmbus._shmbus", sources=["src/shmbus_module.c"],
                    extra_compile_args=FLAGS + pkg("--cflags"),
                    extra_link_args=pkg("--libs") + ["-Wl,--whole-archive", "-lshmbus_types",
                                                     "-Wl,--no-whole-archive",
                                                     "-lcycloneddsidl", "-ljansson", "-lm"])

setup(
    name="shmbus",
    version="0.1.0",
    description="A shared-memory broadcast bus for Linux: publish/subscribe over POSIX shm",
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    packages=["shmbus"],
    package_data={"shmbus": ["py.typed", "*.pyi"]},
    ext_modules=[ext],
)
