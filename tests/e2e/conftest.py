"""The local stack as `make up` runs it: a `nexod up` subprocess with the offline default model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .launcher import Process, launch

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def local_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    process = launch(tmp_path_factory.mktemp("e2e-state"))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def local_stack(local_process: Process) -> str:
    """Base URL of a running local Nexod (API, console, seeded data)."""
    return local_process.url
