from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "jiedao.tracing"
    label = "tracing"
    verbose_name = "Tracing engine"

    def ready(self) -> None:
        from jiedao.tracing import jobs  # noqa: F401  (registers the nightly purge with Huey)
