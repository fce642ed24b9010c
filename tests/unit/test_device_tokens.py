"""Device tokens: random, recognisable, and stored only as their SHA-256."""

import hashlib

import pytest

from vehicles.tokens import device_token_hash, device_token_new, device_token_well_formed


def test_a_token_is_the_prefix_and_43_url_safe_characters():
    token = device_token_new()
    assert token.startswith("dev_")
    assert len(token) == 4 + 43
    assert device_token_well_formed(token)


def test_tokens_do_not_repeat():
    assert len({device_token_new() for _ in range(1000)}) == 1000


def test_the_hash_is_the_tokens_sha256_in_hex():
    token = device_token_new()
    assert device_token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert len(device_token_hash(token)) == 64
    assert token not in device_token_hash(token)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("dev_", id="prefix only"),
        pytest.param("dev_" + "A" * 42, id="one short"),
        pytest.param("dev_" + "A" * 44, id="one long"),
        pytest.param("tok_" + "A" * 43, id="another prefix"),
        pytest.param("dev_" + "A" * 42 + "=", id="padding"),
        pytest.param("dev_" + "A" * 42 + "\n", id="newline"),
        pytest.param("dev_" + "A" * 42 + "\x00", id="NUL"),
        pytest.param("dev_" + "A" * 42 + "é", id="not ASCII"),
    ],
)
def test_anything_else_is_not_a_token(token):
    assert not device_token_well_formed(token)
