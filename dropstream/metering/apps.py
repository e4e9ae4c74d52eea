from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "dropstream.metering"
    label = "metering"
