from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "dropstream.intents"
    label = "intents"
