"""schemathesis against the generated OpenAPI schema: no input makes the API answer 5xx.

Every operation is called as an authenticated national administrator and as a hospital manager
(Jiuquan), so generated calls reach the services and the scope checks, not only the 401 guard,
on both backends: first with inputs that fit the schema, then with inputs that break it
(wrong types, out-of-range numbers, missing fields). The run is bounded in time (about 30 s per
backend; NRMC_SCHEMATHESIS_SECONDS changes it): the positive pass always covers every operation,
the negative pass runs while time is left. The operations are driven through schemathesis'
Python API with Hypothesis directly (its lazy pytest fixture loader does not work with this pytest).
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.slow
# More examples for a deeper run: NRMC_SCHEMATHESIS_EXAMPLES=200 NRMC_SCHEMATHESIS_SECONDS=900 …
EXAMPLES = int(os.environ.get("NRMC_SCHEMATHESIS_EXAMPLES", "8"))
BUDGET = float(os.environ.get("NRMC_SCHEMATHESIS_SECONDS", "30"))
USERS = ("admin", "jiuquan")  # national admin, hospital manager


def _fuzz(operation, mode: GenerationMode, headers: dict[str, str] | None) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def no_server_error(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    try:
        no_server_error()
    except Unsatisfiable:
        if mode == GenerationMode.POSITIVE:
            raise
        # An operation without parameters or body has nothing that can be made invalid.


def test_no_input_makes_the_api_fail_with_5xx(app, tokens):
    with app.state.sessionmaker() as session:  # the start-up warm-up a served app does
        app.state.outflow.sliced(session, level="province")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    started = time.monotonic()
    tested: dict[tuple[str, str], list[str]] = {}
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for operation in operations:
            for user in USERS:
                if mode == GenerationMode.NEGATIVE and time.monotonic() - started > BUDGET:
                    break
                # signing out would end that user's token for every later operation
                anonymous = operation.path in ("/api/v1/auth/token", "/api/v1/auth/logout")
                headers = None if anonymous else {"Authorization": f"Bearer {tokens[user]}"}
                _fuzz(operation, mode, headers)
                tested.setdefault((mode.value, user), []).append(operation.label)
    for user in USERS:
        assert len(tested[("positive", user)]) == len(operations) >= 15
