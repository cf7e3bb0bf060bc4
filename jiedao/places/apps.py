from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "jiedao.places"
    label = "places"

    def ready(self) -> None:
        # Registers the dashboard cards with core (core never imports places).
        from jiedao.places import cards  # noqa: F401
