"""Credits and complexity (spec §8).

Complexity (a documented approximation; §13 #12 allows any monotone formula):

* a root query field costs ``1 +`` the cost of its selection;
* a scalar costs 0 and a single object costs the cost of its own selection;
* a Relay connection costs ``page × (1 + cost of one node)``, where ``page`` is ``first`` or
  ``last`` (or ``settings.default_page_size``) in "requested" mode, and the number of nodes
  actually returned in "returned" mode (``settings.charge_mode``; §8's unverified claim);
* a plain list of objects (``shipping_labels``, ``shipments``) costs ``1 + item cost`` per
  item (one item is assumed before running);
* a mutation costs ``settings.mutation_cost`` (10, as the §4.2 example), per name overridable;
* a root field with ``analyze: true`` reports its complexity and costs nothing (§8).

So ``orders(partner_order_id: …) { data(first: 2) { edges { node { id } } } }`` costs 3 and the
§5.2 shipments query with ``first: 50`` and nested ``line_items(first: 50)`` costs 2601.

Bucket (§8): ``settings.credits_max`` credits, restoring ``settings.credits_restore_per_second``
on the simulator clock. Credits are checked (and spent) before anything runs; a request whose
cost exceeds what is left gets the code-30 answer with ``time_remaining`` (§8 shape).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_named_type,
    get_nullable_type,
    is_list_type,
    is_object_type,
    type_from_ast,
    value_from_ast,
)

from dropstream.sandbox.shiphero.errors import CODE_THROTTLED
from dropstream.sandbox.shiphero.settings import Settings


@dataclass
class RootCost:
    """The cost of one root field: ``key`` is its response key (alias or name)."""

    key: str
    name: str
    cost: int
    analyze: bool = False

    @property
    def charged(self) -> int:
        return 0 if self.analyze else self.cost


class CostWalker:
    """Computes complexity from a validated operation (and, when given, its result data)."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any], settings: Settings) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.settings = settings

    @classmethod
    def for_operation(cls, schema: GraphQLSchema, document_definitions: Any,
                      operation: OperationDefinitionNode, raw_variables: dict[str, Any],
                      settings: Settings) -> CostWalker:
        fragments = {d.name.value: d for d in document_definitions
                     if isinstance(d, FragmentDefinitionNode)}
        variables = dict(raw_variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in variables and definition.default_value is not None:
                var_type = type_from_ast(schema, definition.type)
                if var_type is not None:
                    variables[name] = value_from_ast(definition.default_value,
                                                     var_type)  # type: ignore[arg-type]
        return cls(schema, fragments, variables, settings)

    # ---------------------------------------------------------------- roots

    def roots(self, operation: OperationDefinitionNode,
              data: dict[str, Any] | None = None) -> list[RootCost]:
        is_mutation = operation.operation.value == "mutation"
        root_type = self.schema.mutation_type if is_mutation else self.schema.query_type
        assert root_type is not None
        costs = []
        for node in self._fields(operation.selection_set):
            name = node.name.value
            key = node.alias.value if node.alias else name
            if name.startswith("__"):
                costs.append(RootCost(key, name, 0 if name == "__typename" else 1))
                continue
            field = root_type.fields[name]
            analyze = bool(self._arg(node, field, "analyze"))
            if is_mutation:
                cost = self.settings.cost_of_mutation(name)
            else:
                named = get_named_type(field.type)
                value = data.get(key) if data is not None else None
                below = self._cost(named, node.selection_set, value,
                                   returned=data is not None)  # type: ignore[arg-type]
                cost = 1 + below
            costs.append(RootCost(key, name, cost, analyze))
        return costs

    # ---------------------------------------------------------------- walking

    def _fields(self, selection_set: SelectionSetNode | None) -> list[FieldNode]:
        found: list[FieldNode] = []
        if selection_set is None:
            return found
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self._fields(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    found.extend(self._fields(fragment.selection_set))
        return found

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            target = GraphQLSkipDirective if name == "skip" else GraphQLIncludeDirective
            argument = next((a for a in directive.arguments if a.name.value == "if"), None)
            value = value_from_ast(argument.value, target.args["if"].type,
                                   self.variables) if argument else None
            if name == "skip" and value is True:
                return False
            if name == "include" and value is False:
                return False
        return True

    def _arg(self, node: FieldNode, field: Any, name: str) -> Any:
        definition = field.args.get(name)
        if definition is None:
            return None
        argument = next((a for a in node.arguments or () if a.name.value == name), None)
        if argument is None:
            return None
        value = value_from_ast(argument.value, definition.type, self.variables)
        return None if value is Undefined else value

    def _cost(self, parent: Any, selection_set: SelectionSetNode | None, value: Any, *,
              returned: bool) -> int:
        if not is_object_type(parent) or selection_set is None:
            return 0
        assert isinstance(parent, GraphQLObjectType)
        total = 0
        for node in self._fields(selection_set):
            name = node.name.value
            field = parent.fields.get(name)
            if field is None:  # __typename
                continue
            named = get_named_type(field.type)
            if not is_object_type(named):
                continue
            key = node.alias.value if node.alias else name
            child = value.get(key) if isinstance(value, dict) else None
            if named.name.endswith("Connection"):
                total += self._connection_cost(node, field, named, child, returned=returned)
            elif is_list_type(get_nullable_type(field.type)):
                items = child if returned and isinstance(child, list) else (
                    [] if returned else [None])
                total += sum(1 + self._cost(named, node.selection_set, item, returned=returned)
                             for item in items)
            else:
                total += self._cost(named, node.selection_set, child, returned=returned)
        return total

    def _connection_cost(self, node: FieldNode, field: Any, connection: Any, value: Any, *,
                         returned: bool) -> int:
        edge_type = get_named_type(connection.fields["edges"].type)
        node_type = get_named_type(edge_type.fields["node"].type)
        total = 0
        for edges_node in self._fields(node.selection_set):
            if edges_node.name.value != "edges":
                continue
            node_fields = [n for n in self._fields(edges_node.selection_set)
                           if n.name.value == "node"]
            if returned:
                key = edges_node.alias.value if edges_node.alias else "edges"
                edges = value.get(key) if isinstance(value, dict) else None
                for edge in edges or []:
                    total += 1 + sum(self._cost(
                        node_type, n.selection_set,
                        edge.get(n.alias.value if n.alias else "node") if edge else None,
                        returned=True) for n in node_fields)
            else:
                first = self._arg(node, field, "first")
                last = self._arg(node, field, "last")
                page = first if isinstance(first, int) else (
                    last if isinstance(last, int) else self.settings.default_page_size)
                per_node = 1 + sum(self._cost(node_type, n.selection_set, None, returned=False)
                                   for n in node_fields)
                total += max(0, page) * per_node
        return total


class CreditBucket:
    """One account's credits, restored continuously on the simulator clock."""

    def __init__(self, settings: Settings, now: float) -> None:
        self._lock = threading.Lock()
        self._settings = settings
        self._level = float(settings.credits_max)
        self._stamp = now

    def level(self, now: float) -> float:
        with self._lock:
            return self._level_at(now)

    def _level_at(self, now: float) -> float:
        restored = self._level + self._settings.credits_restore_per_second * max(
            0.0, now - self._stamp)
        return min(float(self._settings.credits_max), restored)

    def spend(self, cost: int, now: float) -> tuple[bool, float]:
        """(spent?, credits left). Nothing is taken when the bucket lacks ``cost``."""
        with self._lock:
            level = self._level_at(now)
            if cost > level:
                return False, level
            self._level, self._stamp = level - cost, now
            return True, self._level

    def refund(self, amount: int, now: float) -> None:
        with self._lock:
            self._level, self._stamp = self._level_at(now) + amount, now
            self._level = min(self._level, float(self._settings.credits_max))

    def set_level(self, credits: float, now: float) -> None:
        with self._lock:
            self._level, self._stamp = max(0.0, min(credits, self._settings.credits_max)), now

    def seconds_until(self, cost: int, level: float) -> int:
        rate = self._settings.credits_restore_per_second
        if rate <= 0:
            return 10**9
        return max(1, math.ceil((cost - level) / rate))


def throttle_error(operation: str, request_id: str, required: int, remaining: float,
                   wait_seconds: int) -> dict[str, Any]:
    """The §8 code-30 error entry: credit fields both at the top level and in extensions."""
    left = int(math.floor(remaining))
    time_remaining = f"{wait_seconds} seconds"
    return {"code": CODE_THROTTLED,
            "message": (f"There are not enough credits to perform the requested operation, "
                        f"which requires {required} credits. Try again in {time_remaining}"),
            "operation": operation, "request_id": request_id, "required_credits": required,
            "remaining_credits": left, "time_remaining": time_remaining,
            "extensions": {"code": CODE_THROTTLED, "required_credits": required,
                           "remaining_credits": left, "time_remaining": time_remaining}}


def over_max_error(operation: str, request_id: str, required: int, maximum: int,
                   code: int) -> dict[str, Any]:
    """§8: an operation above the per-operation maximum never runs; split it."""
    return {"code": code,
            "message": (f"The operation requires {required} credits, more than the maximum of "
                        f"{maximum} credits allowed per operation. Reduce the page size "
                        f"('first') or split the query"),
            "operation": operation, "request_id": request_id, "required_credits": required,
            "max_credits": maximum,
            "extensions": {"code": code, "required_credits": required, "max_credits": maximum}}
