"""Shared fixtures: where the real datasets live, and the bundled sample."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _benchmarks_importable() -> None:
    """Let tests import the benchmark helpers in ``benchmarks/`` (PACE reader, instance families)."""
    path = str(REPO / "benchmarks")
    if path not in sys.path:
        sys.path.append(path)


_benchmarks_importable()


def _shared_data() -> Path:
    env = os.environ.get("NETPLAN_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the checkout (or $NETPLAN_SHARED_DATA)."""
    path = _shared_data()
    if not path.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data folder {path} is missing in CI")
        pytest.skip(f"shared data folder {path} not found; set NETPLAN_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def sample_paths() -> dict[str, Path]:
    from netplan.datasets import sample_paths

    return sample_paths()
