"""Fixtures: a unique bus name per test (pid + counter), removed even when the test fails."""
import itertools
import os
import sys

import pytest

import shmbus

_counter = itertools.count()


@pytest.fixture
def bus():
    name = f"pytest.{os.getpid()}.{next(_counter)}"
    yield name
    try:
        shmbus.rm(name, force=True)
    except shmbus.BusNotFound:
        pass


@pytest.fixture
def child_env():
    """The environment for a child python3 that imports the same shmbus."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
