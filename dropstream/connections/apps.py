from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "dropstream.connections"
    label = "connections"
