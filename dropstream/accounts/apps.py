from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dropstream.accounts"
    label = "accounts"
