"""Errors of the rules domain.

    RuleError (ValueError)         ``errors`` maps a field path to a plain message
    ├── InvalidRule                fields or arguments failed validation; nothing was stored
    ├── ActivationRefused          the rule stays inactive: its CEL does not compile, or its
    │                              arguments name something that does not exist
    ├── InvalidMove                a position is out of range; nothing moved
    └── InvalidFacts               a pasted order (Test tab) is not of the hub's shape
    ExpressionError (Exception)    a CEL text, or its evaluation, failed
    ├── RuleSyntaxError            refused at compile time: the compiler's message, line, column
    └── RuleRuntimeError           failed while evaluating one order: names the rule when known
        └── BudgetExceeded         the evaluation took too long or too many steps

The type says what to do: a ``RuleError`` is the editor's to show next to its fields; a
``RuleSyntaxError`` is shown next to the expression; a ``RuleRuntimeError`` puts that one order in
Error, and the rest of the batch goes on.
"""

from __future__ import annotations


class RuleError(ValueError):
    """Base: ``errors`` maps a field path (``arguments.connection_id``) to a plain message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class InvalidRule(RuleError):
    """A rule's fields or arguments failed validation; nothing was stored."""


class ActivationRefused(RuleError):
    """The rule was left inactive; each message says what to fix first."""


class InvalidMove(RuleError):
    """A move names a position outside the list; nothing moved."""


class InvalidFacts(RuleError):
    """A pasted order is not of the hub's shape; ``errors`` names each wrong field."""


class ExpressionError(Exception):
    """Base of the errors of one CEL text: ``message`` is plain text for the operator."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class RuleSyntaxError(ExpressionError):
    """The text was refused at compile time.

    ``message`` starts with the position (``line 1, column 13: …``) when there is one;
    ``line`` and ``column`` are 1-based or None; ``context`` is the offending source line with a
    caret under the column (empty when there is no position).
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 context: str = "") -> None:
        self.line = line
        self.column = column
        self.context = context
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(where + message)
        self.reason = message


class RuleRuntimeError(ExpressionError):
    """Evaluating one expression for one order failed.

    ``reason`` is what went wrong (``no such key 'gift'``); ``rule_id`` and ``rule_name`` are set
    once the engine knows which rule it was, and the message then names the rule.
    """

    def __init__(self, reason: str, *, rule_id: int | None = None,
                 rule_name: str = "") -> None:
        self.reason = reason
        self.rule_id = rule_id
        self.rule_name = rule_name
        if rule_name or rule_id is not None:
            label = f'rule "{rule_name}"' + (f" (#{rule_id})" if rule_id is not None else "")
            message = f"{label}: {reason}"
        else:
            message = reason
        super().__init__(message)

    def for_rule(self, rule_id: int | None, rule_name: str) -> RuleRuntimeError:
        """A copy of this error that names the rule (same class, same reason)."""
        named = type(self)(self.reason, rule_id=rule_id, rule_name=rule_name)
        named.__cause__ = self.__cause__
        return named


class BudgetExceeded(RuleRuntimeError):
    """The evaluation was stopped: it ran past its time or step budget."""
