"""One rule for missing test prerequisites: skip on a developer's machine, fail in CI
(CI=true), where every database, binary and server the suite needs must be there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> NoReturn:
    """Skip the test (locally) or fail it (in CI) because `what` is not available."""
    if IN_CI:
        pytest.fail(f"{what} is not available in CI", pytrace=False)
    pytest.skip(f"{what} is not available")
