"""Missing tools and dependencies: a skip on a developer's machine, a failure under CI=true.

A test that skips in CI proves nothing and looks green, so under CI every skip fails (see the hooks in
tests/conftest.py); these helpers say what is missing and how to get it.
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(message: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing dependency fails the build)", pytrace=False)
    pytest.skip(message)


def require_module(name: str, hint: str = "`make install` installs it") -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"{name} is not importable ({exc}): {hint}")


def require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not on PATH: {hint}")
    return path
