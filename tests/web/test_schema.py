"""schemathesis against the generated OpenAPI schema: no input makes the API answer 5xx.

Runs as an authenticated national administrator (so generated calls reach the services, not
only the 401 guard) on both backends. The operations are driven through schemathesis' Python
API with Hypothesis directly (its lazy pytest fixture loader does not work with this pytest).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.slow
# More examples for a deeper run: NRMC_SCHEMATHESIS_EXAMPLES=200 pytest tests/web/test_schema.py
EXAMPLES = int(os.environ.get("NRMC_SCHEMATHESIS_EXAMPLES", "12"))


def test_no_input_makes_the_api_fail_with_5xx(app, tokens):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def no_server_error(case) -> None:  # type: ignore[no-untyped-def]
            # Signing out would end the administrator's token for every later operation.
            if case.path in ("/api/v1/auth/token", "/api/v1/auth/logout"):
                case.call_and_validate(checks=[not_a_server_error])
            else:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

        no_server_error()
        tested.append(operation.label)
    assert len(tested) >= 15, tested
