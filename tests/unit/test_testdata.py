import json

import pytest

from tests.conftest import SHARED_TESTDATA, TESTDATA, load_cases


def test_the_sample_cases_are_in_the_repository():
    assert len(load_cases()) >= 7


def test_the_copy_matches_the_shared_sample_logs():
    if not SHARED_TESTDATA.is_file():
        pytest.skip(f"{SHARED_TESTDATA} is not beside this checkout")
    assert json.loads(TESTDATA.read_text()) == json.loads(SHARED_TESTDATA.read_text())
