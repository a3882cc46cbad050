"""The C loop that hashes pseudonyms (flows/native/hmac_batch.c over libcrypto) gives exactly the
standard library's HMAC, on every kind of Arrow string array, and the load still works without it."""

from __future__ import annotations

import os
import random

import pyarrow as pa
import pytest

from nrmc.flows import pseudonym
from nrmc.flows.native import build

IDS = ["", "a", "张三-440106199001011234", "x" * 55, "y" * 56, "z" * 64, "w" * 300,
       "MRN\u00e9\U0001f600"] + [
    "".join(random.Random(i).choices("0123456789ABCDEFGHX中文病案", k=i % 90)) for i in range(3000)]
KEYS = ["", "k", "workspace-key-" * 9]  # empty, short, longer than a SHA-256 block


@pytest.fixture(autouse=True)
def _fresh_native():
    """Each test decides for itself whether the C loop may be built."""
    build.load.cache_clear()
    pseudonym._native_hmac.cache_clear()
    pseudonym._native_states.cache_clear()
    yield
    build.load.cache_clear()
    pseudonym._native_hmac.cache_clear()
    pseudonym._native_states.cache_clear()


def arrays() -> list[pa.Array]:
    plain = pa.array(IDS, pa.string())
    return [plain, pa.array(IDS, pa.large_string()), plain.slice(5, 1700),
            pa.array(IDS, pa.large_string()).slice(1, 9)]


def test_the_c_loop_is_built_here():
    """CI runs on this machine kind (gcc and libcrypto present): the fast path must be the one
    measured, not the fallback."""
    if os.environ.get("CI", "").lower() not in {"1", "true", "yes"} and not pseudonym.native_available():
        pytest.skip("no C compiler or libcrypto here")
    assert pseudonym.native_available()


@pytest.mark.parametrize("key", KEYS)
def test_the_c_loop_equals_the_standard_library(key):
    if not pseudonym.native_available():
        pytest.skip("no C compiler or libcrypto here")
    for array in arrays():
        assert pseudonym.pseudonymise_arrow(array, key).to_pylist() == [
            pseudonym.pseudonymise_one(x, key) for x in array.to_pylist()]


def test_without_native_helpers_the_python_loop_gives_the_same(monkeypatch):
    monkeypatch.setenv("NRMC_NATIVE", "0")
    assert not pseudonym.native_available()
    array = arrays()[2]
    assert pseudonym.pseudonymise_arrow(array, "k").to_pylist() == [
        pseudonym.pseudonymise_one(x, "k") for x in array.to_pylist()]


def test_a_missing_compiler_means_the_fallback_not_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert build.load("hmac_batch", ("libcrypto.so.3",)) is None
