"""The runnable examples in each model's docstring are part of the contract."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["travel", "siting", "beds", "accessibility", "catchments", "scenarios"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"nrmc.planning.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
