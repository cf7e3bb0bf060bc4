from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "nat.save_site": _("Sampling site saved"),
    "nat.site_status": _("Sampling site status or queue set"),
    "nat.open_round": _("Testing round opened"),
    "nat.registrations": _("Sample registrations applied"),
}


class NatConfig(AppConfig):
    name = "jiedao.nat"
    label = "nat"
    verbose_name = "Nucleic-acid testing"

    def ready(self) -> None:
        from jiedao.core import audit

        audit.register_action_labels(ACTION_LABELS)
