from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "jiedao.tracing"
    label = "tracing"
    verbose_name = "Tracing engine"
