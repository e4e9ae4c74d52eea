"""The API endpoints behind HTTP: ``POST /graphql`` (spec §1, §8, §9) and ``POST /auth/refresh``
/ ``POST /auth/token`` (§2). The HTTP server (``server.py``) only moves bytes; this module
decides every answer.

GraphQL request, in order:

1. the body must be JSON ``{"query", "variables"?, "operationName"?}`` (else HTTP 400);
2. ``Authorization: Bearer <access token>``: missing/invalid/expired/revoked tokens and
   suspended accounts get ``{"errors": [{"message", "code": 401, "request_id"}], "data": null}``
   with HTTP ``settings.auth_error_status`` (401 by default, §14.2);
3. optional request cap (``settings.request_cap`` per rolling window, §8) → HTTP 429;
4. graphql-core parses and validates: syntax errors, unknown fields, wrong argument types are
   GraphQL errors (HTTP ``settings.request_error_status``, 200 by default, §9);
5. complexity is computed (``credits.py``); over ``credits_max_per_operation`` → a permanent
   error; when execution starts the credits are taken, or the request is answered with the
   code-30 throttle error (§8) and nothing runs;
6. graphql-core executes; resolver errors are ``errors[]`` entries with ``code`` and
   ``request_id`` (§9) next to ``data.<field>: null``.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from dropstream.sandbox.shiphero import credits, resolvers, schema
from dropstream.sandbox.shiphero.auth import SCOPE, AuthFailure, TokenBook
from dropstream.sandbox.shiphero.errors import ApiError
from dropstream.sandbox.shiphero.meter import Meter
from dropstream.sandbox.shiphero.state import SimState

log = logging.getLogger("dropstream.sandbox.shiphero")


@dataclass
class Outcome:
    """An answer to send plus what the meter records about it."""

    status: int
    body: dict[str, Any]
    operation: str
    outcome: str = "ok"
    charged: int = 0
    complexity: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def meter_entry(self, at: str) -> dict[str, Any]:
        return {"at": at, "operation": self.operation, "status": self.status,
                "outcome": self.outcome, "complexity": self.complexity,
                "charged": self.charged}


@dataclass
class Peek:
    """What can be read from a GraphQL body before anything runs (for faults and meters)."""

    query: str | None
    variables: dict[str, Any]
    operation_name: str | None
    document: DocumentNode | None = None
    syntax_error: GraphQLError | None = None
    problem: str | None = None

    @property
    def root_names(self) -> list[str]:
        if self.document is None:
            return []
        operation = get_operation_ast(self.document, self.operation_name)
        if operation is None:
            return []
        names = []
        for selection in operation.selection_set.selections:
            name = getattr(getattr(selection, "name", None), "value", None)
            if name and name not in names:
                names.append(name)
        return names

    @property
    def named_operation(self) -> str | None:
        """The operation's name: ``operationName`` or the name written in the document."""
        if self.operation_name or self.document is None:
            return self.operation_name
        operation = get_operation_ast(self.document, None)
        return operation.name.value if operation is not None and operation.name else None

    @property
    def meter_key(self) -> str:
        if self.problem:
            return "(bad request)"
        if self.document is None:
            return "(syntax error)"
        return "+".join(self.root_names) or "(no operation)"

    @property
    def fault_names(self) -> set[str]:
        named = self.named_operation
        return {*self.root_names, *([named] if named else [])}


def peek(raw: bytes) -> Peek:
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        return Peek(None, {}, None, problem="The request body is not valid JSON")
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return Peek(None, {}, None, problem='The body must be a JSON object with a "query"')
    variables = body.get("variables") or {}
    operation_name = body.get("operationName")
    if not isinstance(variables, dict):
        return Peek(None, {}, None, problem='"variables" must be a JSON object')
    if operation_name is not None and not isinstance(operation_name, str):
        return Peek(None, {}, None, problem='"operationName" must be a string')
    found = Peek(body["query"], variables, operation_name)
    try:
        found.document = parse(body["query"])
    except GraphQLError as exc:
        found.syntax_error = exc
    return found


@functools.cache
def shared_schema() -> GraphQLSchema:
    """The executable schema, built once per process (resolvers keep no state: everything
    they need comes in the request context)."""
    return resolvers.attach(schema.build())


class Throttled(Exception):
    """Raised from the first root resolver when the bucket lacks credits."""


@dataclass
class _Bill:
    """The price of one request, and whether it was paid (None: execution never started)."""

    costs: list[credits.RootCost]
    key: str
    spent: bool | None = None
    level: float = 0.0

    @property
    def required(self) -> int:
        return sum(cost.charged for cost in self.costs)

    @property
    def complexity(self) -> int:
        return sum(cost.cost for cost in self.costs)

    @property
    def operation(self) -> str:
        return self.costs[0].name if self.costs else self.key

    @property
    def null_data(self) -> dict[str, None]:
        return {cost.key: None for cost in self.costs}


class Api:
    """Answers GraphQL and auth requests against one ``SimState``."""

    def __init__(self, state: SimState, tokens: TokenBook, meter: Meter) -> None:
        self.state = state
        self.tokens = tokens
        self.meter = meter
        self.schema = shared_schema()
        self._buckets: dict[int, credits.CreditBucket] = {}
        self._windows: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def settings(self) -> Any:
        return self.state.settings

    def bucket(self, account_id: int) -> credits.CreditBucket:
        with self._lock:
            bucket = self._buckets.get(account_id)
            if bucket is None:
                bucket = credits.CreditBucket(self.settings, self.state.clock.timestamp())
                self._buckets[account_id] = bucket
            return bucket

    # ------------------------------------------------------------------ auth endpoints

    def refresh(self, raw: bytes) -> Outcome:
        body = _json_object(raw)
        try:
            token, _account = self.tokens.refresh((body or {}).get("refresh_token"))
        except AuthFailure as exc:
            return Outcome(403, {"error": "access_denied", "error_description": exc.message},
                           "auth/refresh", "auth_error")
        answer: dict[str, Any] = {"access_token": token,
                                  "expires_in": self.tokens.expires_in(token),
                                  "scope": SCOPE, "token_type": "Bearer"}
        if self.settings.refresh_returns_refresh_token:
            answer["refresh_token"] = (body or {}).get("refresh_token")
        return Outcome(200, answer, "auth/refresh")

    def login(self, raw: bytes) -> Outcome:
        body = _json_object(raw) or {}
        try:
            token, account_id = self.tokens.login(body.get("username"), body.get("password"))
        except AuthFailure as exc:
            return Outcome(403, {"error": "access_denied", "error_description": exc.message},
                           "auth/token", "auth_error")
        return Outcome(200, {"access_token": token, "expires_in": self.tokens.expires_in(token),
                             "refresh_token": self.tokens.refresh_token_of(account_id),
                             "scope": SCOPE, "token_type": "Bearer"}, "auth/token")

    # ------------------------------------------------------------------ GraphQL

    def graphql(self, found: Peek, authorization: str | None) -> Outcome:
        request_id = self.state.ids.request_id()
        key = found.meter_key
        if found.problem:
            return Outcome(400, {"errors": [{"message": found.problem,
                                             "request_id": request_id}]}, key, "bad_request")
        refused = self._authenticate(authorization, request_id, key)
        if isinstance(refused, Outcome):
            return refused
        account_id = refused
        capped = self._cap(account_id, request_id, key)
        if capped is not None:
            return capped
        if found.syntax_error is not None or found.document is None:
            assert found.syntax_error is not None
            return self._request_error([found.syntax_error], request_id, key)
        errors = validate(self.schema, found.document)
        if errors:
            return self._request_error(errors, request_id, key)
        operation = get_operation_ast(found.document, found.operation_name)
        with self.state.lock:
            return self._run(found, operation, account_id, request_id, key)

    def _authenticate(self, authorization: str | None, request_id: str,
                      key: str) -> Outcome | int:
        token = None
        if authorization and authorization[:7].lower() == "bearer ":
            token = authorization[7:].strip()
        try:
            account_id = self.tokens.check(token)
            if self.state.accounts[account_id].status != "active":
                raise AuthFailure("suspended", "The account is not active")
        except AuthFailure as exc:
            status = self.settings.auth_error_status
            headers = {"WWW-Authenticate": f'Bearer error="invalid_token", '
                                           f'error_description="{exc.reason}"'}
            return Outcome(status, {"errors": [{"message": exc.message, "code": 401,
                                                "request_id": request_id}], "data": None},
                           key, "auth_error", headers=headers if status == 401 else {})
        return account_id

    def _cap(self, account_id: int, request_id: str, key: str) -> Outcome | None:
        cap = self.settings.request_cap
        if cap is None:
            return None
        window = self.settings.request_cap_window_seconds
        now = self.state.clock.timestamp()
        with self._lock:
            stamps = self._windows.setdefault(account_id, deque())
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= cap:
                wait = max(1, int(stamps[0] + window - now) + 1)
                return Outcome(429, {"errors": [{
                    "message": f"Too many requests: at most {cap} requests per {window} seconds",
                    "code": 429, "request_id": request_id, "time_remaining": f"{wait} seconds"}],
                    "data": None}, key, "capped", headers={"Retry-After": str(wait)})
            stamps.append(now)
        return None

    def _request_error(self, errors: list[GraphQLError], request_id: str, key: str) -> Outcome:
        entries = [{**error.formatted, "request_id": request_id} for error in errors]
        return Outcome(self.settings.request_error_status, {"errors": entries, "data": None},
                       key, "request_error")

    def _run(self, found: Peek, operation: OperationDefinitionNode | None, account_id: int,
             request_id: str, key: str) -> Outcome:
        """Price, charge and execute a validated request (state lock held)."""
        bucket = self.bucket(account_id)
        context = resolvers.RequestContext(self.state, self.state.accounts[account_id], bucket,
                                           request_id)
        walker, costs = self._price(found, operation)
        bill = _Bill(costs, key)
        context.costs = {cost.key: cost for cost in costs}
        maximum = self.settings.credits_max_per_operation
        if bill.required > maximum:
            error = credits.over_max_error(bill.operation, request_id, bill.required, maximum,
                                           self.settings.over_max_error_code)
            return Outcome(200, {"errors": [error], "data": bill.null_data}, key, "too_complex",
                           complexity=bill.complexity)

        def take_credits() -> None:
            bill.spent, bill.level = bucket.spend(bill.required, self.state.clock.timestamp())
            if not bill.spent:
                raise Throttled()

        context.on_start = take_credits
        result = execute(self.schema, found.document, context_value=context,  # type: ignore
                         variable_values=found.variables, operation_name=found.operation_name)
        if bill.spent is False:
            return self._throttled(bill, bucket, request_id)
        data = result.data  # type: ignore[union-attr]
        charged = bill.required if bill.spent else 0
        if (bill.spent and self.settings.charge_mode == "returned" and walker is not None
                and operation is not None and operation.operation.value == "query"
                and data is not None):
            charged = self._charge_returned(walker, operation, data, costs, bucket,
                                            bill.required)
        return self._answer(data, result.errors, bill, charged, bucket,  # type: ignore
                            request_id)

    def _price(self, found: Peek, operation: OperationDefinitionNode | None
               ) -> tuple[credits.CostWalker | None, list[credits.RootCost]]:
        if operation is None or found.document is None:
            return None, []
        walker = credits.CostWalker.for_operation(self.schema, found.document.definitions,
                                                  operation, found.variables, self.settings)
        return walker, walker.roots(operation)

    def _throttled(self, bill: _Bill, bucket: credits.CreditBucket,
                   request_id: str) -> Outcome:
        """The §8 code-30 answer; nothing ran."""
        wait = bucket.seconds_until(bill.required, bill.level)
        error = credits.throttle_error(bill.operation, request_id, bill.required, bill.level,
                                       wait)
        status = self.settings.throttle_http_status
        headers = {"Retry-After": str(wait)} if status == 429 else {}
        return Outcome(status, {"errors": [error], "data": bill.null_data}, bill.key,
                       "throttled", complexity=bill.complexity, headers=headers)

    def _answer(self, data: dict[str, Any] | None, errors: list[GraphQLError] | None,
                bill: _Bill, charged: int, bucket: credits.CreditBucket,
                request_id: str) -> Outcome:
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = [self._error_entry(e, request_id) for e in errors]
        status, outcome = 200, "ok"
        if errors and data is None:  # the variables failed coercion: a request error
            status, outcome = self.settings.request_error_status, "request_error"
        elif errors:
            outcome = "graphql_error"
        if self.settings.report_quota_extensions:
            level = bucket.level(self.state.clock.timestamp())
            body["extensions"] = {"throttling": {
                "complexity": bill.complexity, "charged": charged,
                "credits_remaining": int(level), "max_available": self.settings.credits_max,
                "increment_rate": self.settings.credits_restore_per_second}}
        return Outcome(status, body, bill.key, outcome, charged=charged,
                       complexity=bill.complexity)

    def _charge_returned(self, walker: credits.CostWalker, operation: OperationDefinitionNode,
                         data: dict[str, Any], costs: list[credits.RootCost],
                         bucket: credits.CreditBucket, required: int) -> int:
        """§8 "charged only for the data actually returned": refund the difference and show
        the actual cost in each wrapper's ``complexity``."""
        actual = {c.key: c for c in walker.roots(operation, data)}
        charged = 0
        for cost in costs:
            real = actual[cost.key].charged if not cost.analyze else 0
            charged += real
            wrapper = data.get(cost.key)
            if isinstance(wrapper, dict) and "complexity" in wrapper:
                wrapper["complexity"] = actual[cost.key].cost
        if charged < required:
            bucket.refund(required - charged, self.state.clock.timestamp())
        return charged

    def _error_entry(self, error: GraphQLError, request_id: str) -> dict[str, Any]:
        entry = dict(error.formatted)
        original = error.original_error
        if isinstance(original, ApiError):
            entry["code"] = original.code
        elif original is not None and not isinstance(original, Throttled):
            log.warning("resolver failure in %s: %s", entry.get("path"),
                        type(original).__name__, exc_info=original)
        if error.path:
            entry["operation"] = str(error.path[0])
        entry["request_id"] = request_id
        return entry


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
