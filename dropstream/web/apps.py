from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "dropstream.web"
    label = "web"
