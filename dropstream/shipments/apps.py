from django.apps import AppConfig


class ShipmentsConfig(AppConfig):
    name = "dropstream.shipments"
    label = "shipments"
