"""Rules: per store and hook, evaluated top-down by ``position`` (reference §10)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from dropstream.accounts.scoping import scoped_queryset


class Hook(models.TextChoices):
    """When a store's rules run."""

    ORDER_IMPORT = "order_import", "Order import"  # an order arrived; before it is prepared
    SHIPMENT_NOTIFICATION = "shipment_notification", "Shipment notification"  # before the
    # store is told of a shipment; the rule reads the shipment's order


class RuleScope(models.TextChoices):
    """What a rule's condition is evaluated for."""

    ORDER = "order", "Order"  # once per order; `order` bound
    LINE = "line", "Line"  # once per line; `order` and `line` bound; acts on that line


class RuleAction(models.TextChoices):
    """What a rule does when its condition is true (``validation`` lists the arguments)."""

    ACCEPT = "accept", "Accept"  # keep the order or line (undoes an earlier reject)
    REJECT = "reject", "Reject"  # order → Skipped; line → dropped from the warehouse order
    SET = "set", "Set a field"  # shipping method, carrier, notes, warehouse SKU …
    HOLD = "hold", "Hold"  # until a time, for a duration, or until released
    ROUTE = "route", "Route"  # the order, or the line, to another connection of the store
    SPLIT = "split", "Split"  # into one order per group of lines
    FAIL = "fail", "Fail"  # the order → Error with the message; ends the evaluation


class Rule(models.Model):
    store = models.ForeignKey("connections.Store", on_delete=models.CASCADE,
                              related_name="rules")
    hook = models.CharField(max_length=32, choices=Hook.choices, default=Hook.ORDER_IMPORT)
    name = models.CharField(max_length=200)
    # Top-down order within (store, hook): 1, 2, 3 … kept dense by actions.move_rule.
    position = models.PositiveIntegerField(default=1)
    # New rules start inactive (reference §10); actions.activate_rule compiles first.
    active = models.BooleanField(default=False)
    scope = models.CharField(max_length=8, choices=RuleScope.choices, default=RuleScope.ORDER)
    condition = models.TextField(default="true")
    action = models.CharField(max_length=16, choices=RuleAction.choices)
    arguments = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = scoped_queryset("store__customer_id").as_manager()

    class Meta:
        ordering = ["store_id", "hook", "position", "id"]
        indexes = [
            models.Index(fields=["store", "hook", "active", "position"], name="rule_store_hook"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(hook__in=Hook.values), name="rule_hook"),
            models.CheckConstraint(condition=models.Q(scope__in=RuleScope.values),
                                   name="rule_scope"),
            models.CheckConstraint(condition=models.Q(action__in=RuleAction.values),
                                   name="rule_action"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The admin's check: the same validation as the actions, compiling when active."""
        from dropstream.rules import validation

        errors = validation.rule_errors(
            hook=self.hook, scope=self.scope, name=self.name, condition=self.condition,
            action=self.action, arguments=self.arguments)
        if not errors and self.active:
            errors = validation.compile_errors(self.scope, self.condition, self.action,
                                               self.arguments)
        if errors:
            # Form fields are the model's: ``arguments.until`` is shown under ``arguments``.
            by_field: dict[str, list[str]] = {}
            for path, message in errors.items():
                by_field.setdefault(path.split(".")[0].split("[")[0], []).append(
                    f"{path}: {message}")
            raise ValidationError(by_field)
