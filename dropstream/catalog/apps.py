from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "dropstream.catalog"
    label = "catalog"
