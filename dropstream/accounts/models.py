"""Users and roles (specs/dropstream-reference.md §11).

Administrator: everything. Staff: every merchant, or, once limited (``limited_to_merchants``),
only those in ``merchants`` — an empty list then means none. Merchant: exactly one merchant,
read-mostly.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    STAFF = "staff", "Staff"
    MERCHANT = "merchant", "Merchant"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("role", Role.ADMINISTRATOR)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    email = models.EmailField("e-mail", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    merchant = models.ForeignKey(
        "connections.Merchant", null=True, blank=True, on_delete=models.CASCADE,
        related_name="merchant_users", help_text="The one merchant a Merchant user belongs to",
    )
    merchants = models.ManyToManyField(
        "connections.Merchant", blank=True, related_name="staff_users",
        help_text="The merchants a limited Staff user sees",
    )
    # Separate from the list so that emptying it (an administrator unticks the last merchant,
    # or the merchant is deleted, which removes the row without any signal) fails closed:
    # a limited user with no merchants sees none, not all.
    limited_to_merchants = models.BooleanField(
        "limited to merchants", default=False,
        help_text="Staff only: see only the merchants listed (none when the list is empty). "
                  "Giving a Staff user merchants sets this.")
    time_zone = models.CharField(max_length=64, default="UTC")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    def clean(self) -> None:
        super().clean()
        if self.role == Role.MERCHANT and self.merchant_id is None:
            raise ValidationError({"merchant": "A Merchant user needs exactly one merchant."})
        if self.role != Role.MERCHANT and self.merchant_id is not None:
            raise ValidationError({"merchant": "Only Merchant users belong to one merchant."})

    @property
    def is_administrator(self) -> bool:
        return self.is_superuser or self.role == Role.ADMINISTRATOR

    @property
    def can_change_orders(self) -> bool:
        """Administrators and Staff act on orders and shipments; Merchant users review."""
        return self.is_active and (self.is_administrator or self.role == Role.STAFF)

    def __str__(self) -> str:
        return self.email


@receiver(m2m_changed, sender=User.merchants.through)
def _adding_merchants_limits_the_user(sender, instance, action: str, reverse: bool, pk_set,
                                      **kwargs) -> None:
    """Giving a user merchants (from either side) limits it to them, for good: removing them
    later leaves it limited to what remains, possibly nothing."""
    if action != "post_add" or not pk_set:
        return
    user_ids = pk_set if reverse else {instance.pk}
    User.objects.filter(pk__in=user_ids).update(limited_to_merchants=True)
    if not reverse:
        instance.limited_to_merchants = True
