import json
import os

import pytest

from tests.conftest import SHARED_TESTDATA, TESTDATA, load_cases


def test_the_sample_cases_are_in_the_repository():
    assert len(load_cases()) >= 7


def test_the_copy_matches_the_shared_sample_logs():
    if not SHARED_TESTDATA.is_file():
        # CI lays shared/ beside the clone: there a missing copy is a failure, never a silent skip.
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {SHARED_TESTDATA} is missing")
        pytest.skip(f"{SHARED_TESTDATA} is not beside this checkout (outside CI)")
    assert json.loads(TESTDATA.read_text()) == json.loads(SHARED_TESTDATA.read_text())
