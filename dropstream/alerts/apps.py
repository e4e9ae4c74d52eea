from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "dropstream.alerts"
    label = "alerts"
