from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "jiedao.protocols"
    label = "protocols"
    verbose_name = "Prevention protocols"

    def ready(self) -> None:
        from jiedao.protocols import checks  # noqa: F401 — registers the system check
