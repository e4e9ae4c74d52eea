from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "dropstream.scheduling"
    label = "scheduling"
