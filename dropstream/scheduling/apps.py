from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "dropstream.scheduling"
    label = "scheduling"

    def ready(self) -> None:
        # Scheduling reacts to what the flows report (sync.events); sync never imports it.
        from dropstream.scheduling import push_schedule  # noqa: F401
