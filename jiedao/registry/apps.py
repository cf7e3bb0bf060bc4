from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "jiedao.registry"
    label = "registry"
    verbose_name = "Register of people and places"

    def ready(self) -> None:
        from jiedao.core import dashboard
        from jiedao.registry.own_sections import register_sections, registry_cards, registry_map_panel

        register_sections()
        dashboard.register(10)(registry_cards)
        dashboard.register_panel(10)(registry_map_panel)
