from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "dropstream.scheduling"
    label = "scheduling"

    def ready(self) -> None:
        # Scheduling reacts to what the domain and the flows announce (connections.events,
        # sync.events); neither imports it.
        from dropstream.scheduling import reactions  # noqa: F401
