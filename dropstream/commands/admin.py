"""``init``, ``check`` and ``users create``: the data directory and its users."""

from __future__ import annotations

import argparse

from dropstream.processes import (
    CommandError,
    check_password_strength,
    prepare_data,
    setup_django,
    tables_exist,
)


def cmd_init(args: argparse.Namespace) -> int:
    setup_django()
    from django.conf import settings

    key_state = prepare_data()
    print(f"Data directory: {settings.HOME}")
    print(f"Encryption key: {'created' if key_state == 'created' else 'present'}")
    print("Database: migrated")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    setup_django()
    prepare_data()
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError

    from dropstream.accounts.models import User
    from dropstream.connections.models import Merchant

    merchant = None
    if args.merchant is not None:
        merchant = Merchant.objects.filter(pk=args.merchant).first()
        if merchant is None:
            raise CommandError(f"no merchant with id {args.merchant}; list them in the admin")
    if User.objects.filter(email__iexact=args.email).exists():
        raise CommandError(f"a user with e-mail {args.email} already exists")
    check_password_strength(args.password, User(email=args.email, role=args.role))
    extra = {"is_staff": args.role == "administrator", "is_superuser": args.role == "administrator"}
    try:
        user = User.objects.create_user(args.email, args.password, role=args.role,
                                        merchant=merchant if args.role == "merchant" else None,
                                        **extra)
    except ValidationError as exc:
        raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in
                                     exc.message_dict.items())) from None
    except IntegrityError:
        raise CommandError(f"a user with e-mail {args.email} already exists") from None
    if args.role == "staff" and merchant is not None:
        user.merchants.add(merchant)
    print(f"Created {user.role} {user.email} (id {user.pk})")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from dropstream import crypto

    problems = 0
    print(f"Data directory: {settings.HOME}")
    db = settings.DATABASES["default"]
    print(f"Database: {connection.vendor} {db.get('NAME')}")
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        print(f"  reachable; {len(pending)} migration(s) pending")
        secrets = []
        if tables_exist():
            from dropstream.connections.actions import all_stored_secrets

            secrets = all_stored_secrets()
    except Exception as exc:  # noqa: BLE001 — report any database failure as a line
        print(f"  NOT reachable: {exc}")
        problems += 1
        secrets = []
    print(f"Encryption key: {crypto.key_source()}")
    try:
        crypto.reset_cache()
        if crypto.read_key() is None:
            print("  missing" + (" — stored secrets cannot be read" if secrets else
                                 " (created on first start)"))
            problems += bool(secrets)
        else:
            if secrets:
                crypto.decrypt(secrets[0])
            print("  present and opens the stored secrets" if secrets else "  present")
    except crypto.SecretKeyError as exc:
        print(f"  WRONG: {exc}")
        problems += 1
    from huey.contrib.djhuey import HUEY

    print(f"Queue: {type(HUEY).__name__} {settings.HUEY.get('filename') or settings.HUEY.get('url')}")
    try:
        print(f"  reachable; {HUEY.pending_count()} task(s) waiting")
    except Exception as exc:  # noqa: BLE001
        print(f"  NOT reachable: {exc}")
        problems += 1
    print("OK" if not problems else f"{problems} problem(s)")
    return 0 if not problems else 1
