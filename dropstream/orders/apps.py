from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "dropstream.orders"
    label = "orders"
