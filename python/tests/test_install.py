"""`pip install ./python` from the tree, offline, into a temporary target, then import it."""
import os
import shutil
import subprocess
import sys

import pytest


def test_pip_install_offline(tmp_path):
    src = os.environ.get("SHMBUS_SRC")
    if not src:
        pytest.skip("SHMBUS_SRC (the source tree) not set: run through Bazel")
    tree = tmp_path / "tree"
    for d in ("python", "core", "types"):
        shutil.copytree(os.path.join(src, d), tree / d, symlinks=False,
                        ignore=shutil.ignore_patterns("tests", "BUILD", "__pycache__"))
    target = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_PRELOAD")}
    env["PIP_NO_CACHE_DIR"] = "1"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-index",
                    "--no-build-isolation", "--quiet", "--target", str(target),
                    str(tree / "python")], check=True, env=env, cwd=tmp_path, timeout=600)
    env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, "-c", (
        "import os, shmbus; n = 'pip.%d' % os.getpid()\n"
        "try:\n"
        "    with shmbus.Publisher(n, capacity=8) as p, shmbus.Subscriber(n) as s:\n"
        "        p.publish(b'pip'); assert s.next().data == b'pip'\n"
        "    shmbus.rm(n, force=True)\n"
        "    idl = 'module m { enum E { A, B }; struct S { uint64 u; E e; char c[4]; }; };'\n"
        "    with shmbus.Publisher(n, schema=idl, type='m::S') as p, shmbus.Subscriber(n) as s:\n"
        "        p.publish({'u': 2**64 - 1, 'e': 'B', 'c': 'abc'})\n"
        "        r = s.next(); assert r.as_dict() == {'u': 2**64 - 1, 'e': 'B', 'c': 'abc'}\n"
        "        assert r.value['u'] == 2**64 - 1 and s.dtype.itemsize == 16\n"
        "    try:\n"
        "        shmbus.Type('struct S { long x }', 'S')\n"
        "    except ValueError as e:\n"
        "        assert 'line 1' in str(e), e   # Cyclone's message, captured (idl_log.c)\n"
        "    else:\n"
        "        raise AssertionError('a syntax error parsed')\n"
        "finally:\n"
        "    shmbus.rm(n, force=True)\n"
        "print(shmbus.__file__)")],
        check=True, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().startswith(str(target))
    assert out.stderr == ""   # the IDL error went into the exception, not to stderr
    assert (target / "shmbus" / "__init__.pyi").exists()
    assert (target / "shmbus" / "py.typed").exists()
