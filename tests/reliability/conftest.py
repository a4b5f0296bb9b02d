"""Fixtures of the reliability tests."""

from __future__ import annotations

import subprocess

import pytest


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MB tmpfs when this process may mount one (root), else None."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)],
                             capture_output=True).returncode == 0  # fmt: skip
    yield disk if mounted else None
    if mounted:
        subprocess.run(["umount", "-l", str(disk)], check=False)
