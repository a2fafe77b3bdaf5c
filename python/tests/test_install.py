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
    for d in ("python", "core"):
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
        "finally:\n"
        "    shmbus.rm(n, force=True)\n"
        "print(shmbus.__file__)")],
        check=True, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().startswith(str(target))
    assert (target / "shmbus" / "__init__.pyi").exists()
    assert (target / "shmbus" / "py.typed").exists()
