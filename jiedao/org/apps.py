from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "jiedao.org"
    label = "org"
    verbose_name = "Organisation"

    def ready(self) -> None:
        from jiedao.core import dashboard
        from jiedao.org.cards import staff_cards

        dashboard.register(90)(staff_cards)
