"""Schemathesis over every endpoint, in-process through WSGI: no 5xx, and every answer matches
the OpenAPI document (status code, content type, body schema).

Data from two merchants exists, so generated ids often hit real rows. A guard refuses every
name resolution that is not loopback: fuzzed adapters (ping, runs) must never reach the network.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dropstream.api.auth import issue_token
from dropstream.wsgi import application

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, ignored_auth]
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
# The coverage phase builds ~1000 boundary cases at collection time (15 s before any test runs);
# fuzzing with a bounded number of examples per operation keeps the file well under a minute.
schema.config.phases.coverage.enabled = False
@pytest.fixture
def admin_token(world, other_world, admin_user, loopback_only, keep_test_connection) -> str:
    return issue_token(admin_user)[0]


@schema.parametrize()
@settings(max_examples=12, deadline=None, database=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_endpoint_answers_as_documented(case, admin_token):
    # Not positive_data_acceptance: schema-valid bodies can still name an unknown platform or
    # another merchant's customer, which is a 422 by design.
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
