from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "nat.save_site": _("Sampling site saved"),
    "nat.site_status": _("Sampling site status or queue set"),
    "nat.open_round": _("Testing round opened"),
    "nat.registrations": _("Sample registrations applied"),
    "nat.record_results": _("Laboratory results recorded"),
    "nat.positive_pool": _("Positive pooled tube followed up"),
    "nat.export_missing": _("Residents not yet sampled exported"),
    "nat.missing_schedule": _("Missing lists' schedule set"),
    "nat.void_person_card": _("Person-code card made void"),
}


class NatConfig(AppConfig):
    name = "jiedao.nat"
    label = "nat"
    verbose_name = "Nucleic-acid testing"

    def ready(self) -> None:
        from jiedao.core import audit

        audit.register_action_labels(ACTION_LABELS)
        from jiedao.nat import jobs  # noqa: F401  (registers the scheduled missing lists with Huey)
