from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "dropstream.inventory"
    label = "inventory"
