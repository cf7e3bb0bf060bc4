from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "jiedao.registry"
    label = "registry"
    verbose_name = "Register of people and places"

    def ready(self) -> None:
        from jiedao.core import audit, dashboard
        from jiedao.registry.own_sections import (
            ACTION_LABELS,
            register_sections,
            registry_cards,
            registry_map_panel,
        )

        register_sections()
        dashboard.register(10)(registry_cards)
        audit.register_action_labels(ACTION_LABELS)
        dashboard.register_panel(10)(registry_map_panel)
