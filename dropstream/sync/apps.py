from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "dropstream.sync"
    label = "sync"
