"""Fixtures of the bench tests: one tiny exported classifier, shared by every module here."""

from __future__ import annotations

import pytest
from helpers import export_tiny


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict:
    """``helpers.export_tiny`` plus ``"macs"``: conv 3x3 1->4 on 12x10 (valid) + dense 4->5."""
    exported = export_tiny(tmp_path_factory.mktemp("bench"))
    exported["macs"] = 10 * 8 * 4 * 9 + 4 * 5
    return exported
