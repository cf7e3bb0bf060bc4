from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jiedao.core"
    label = "core"
    verbose_name = "Core"
