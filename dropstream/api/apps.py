from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "dropstream.api"
    label = "api"
