"""Which merchants a user sees: a limited Staff user with an empty list sees none."""

from __future__ import annotations

from dropstream.accounts.models import User
from dropstream.accounts.scoping import visible_merchant_ids
from dropstream.connections.models import Merchant


def test_unlimited_staff_sees_every_merchant(staff_user, merchant, other_merchant):
    assert visible_merchant_ids(staff_user) is None
    assert set(Merchant.objects.visible_to(staff_user)) == {merchant, other_merchant}


def test_giving_merchants_from_either_side_limits_the_user_for_good(staff_user, merchant,
                                                                    other_merchant):
    merchant.staff_users.add(staff_user)
    staff_user.refresh_from_db()
    assert staff_user.limited_to_merchants is True
    assert visible_merchant_ids(staff_user) == {merchant.pk}

    staff_user.merchants.remove(merchant)
    assert visible_merchant_ids(User.objects.get(pk=staff_user.pk)) == set()
    assert list(Merchant.objects.visible_to(staff_user)) == []


def test_a_deleted_merchant_leaves_its_staff_seeing_nothing(staff_user, other_merchant):
    from dropstream.connections import actions

    solo = actions.create_merchant("Solo Brand")
    staff_user.merchants.set([solo])
    solo.delete()
    user = User.objects.get(pk=staff_user.pk)
    assert visible_merchant_ids(user) == set()
    assert Merchant.objects.visible_to(user).count() == 0
