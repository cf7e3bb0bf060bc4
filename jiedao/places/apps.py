from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "places.create": _("Place registered"),
    "places.check_in": _("Venue check-in"),
    "places.update": _("Place details changed"),
    "places.deactivate": _("Place deactivated"),
    "places.reactivate": _("Place reactivated"),
    "places.reveal_contact": _("Contact number viewed"),
    "places.export": _("Exported to Excel"),
}


class PlacesConfig(AppConfig):
    name = "jiedao.places"
    label = "places"

    def ready(self) -> None:
        from jiedao.core import audit

        audit.register_action_labels(ACTION_LABELS)
        # Registers the dashboard cards with core (core never imports places).
        from jiedao.places import cards  # noqa: F401
