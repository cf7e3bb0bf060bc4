from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "control.open_case": _("Put under control"),
    "control.start_case": _("Measure started"),
    "control.cancel_case": _("Control case cancelled"),
    "control.change_measure": _("Measure changed"),
    "control.advance_case": _("Moved to the follow-on measure"),
    "control.release_case": _("Released"),
    "control.set_care_team": _("Care team named"),
    "control.export_cases": _("Control cases exported to Excel"),
    "control.checkin": _("Health check-in"),
    "control.issue_checkin_link": _("Check-in link issued"),
}


class ControlConfig(AppConfig):
    name = "jiedao.control"
    label = "control"
    verbose_name = "Control of key persons"

    def ready(self) -> None:
        from jiedao.control.own_sections import register
        from jiedao.core import audit

        audit.register_action_labels(ACTION_LABELS)
        register()
        from jiedao.control import jobs  # noqa: F401  (registers the daily schedule step with Huey)
