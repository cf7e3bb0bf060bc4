from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "tracing.start": _("Trace started"),
    "tracing.done": _("Trace finished"),
    "tracing.failed": _("Trace failed"),
    "tracing.push": _("Trace contacts pushed to screening"),
    "tracing.export_contacts": _("Trace contacts exported"),
    "tracing.load_presence": _("Presence records loaded from a file"),
    "tracing.flush_checkins": _("Venue check-ins added to the presence store"),
    "tracing.purge_checkins": _("Old venue check-ins deleted"),
}


class TracingConfig(AppConfig):
    name = "jiedao.tracing"
    label = "tracing"
    verbose_name = "Tracing engine"

    def ready(self) -> None:
        from jiedao.control.hooks import register_case_card
        from jiedao.core import audit
        from jiedao.tracing import jobs  # noqa: F401  (registers the runs, the flush and the purge with Huey)
        from jiedao.tracing.views import case_card

        audit.register_action_labels(ACTION_LABELS)
        register_case_card(30, case_card)
