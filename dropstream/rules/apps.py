from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "dropstream.rules"
    label = "rules"
    verbose_name = "Order rules"
