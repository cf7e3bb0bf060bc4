from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "screening.stage_list": _("Pushed list uploaded"),
    "screening.receive_list": _("Pushed list received"),
    "screening.open_list": _("Pushed list opened through the API"),
    "screening.push_entries": _("Entries received through the API"),
    "screening.route": _("Dispatched to a community"),
    "screening.hand_back": _("Handed back to dispatch"),
    "screening.confirm_candidate": _("Match confirmed"),
    "screening.dismiss_candidates": _("Candidates dismissed"),
    "screening.verify": _("Verification recorded"),
    "screening.export_key_persons": _("Key persons exported to Excel"),
    "screening.export_list_results": _("List results exported to Excel"),
    "screening.forget_stale_lists": _("Uploaded lists never received were removed"),
}


class ScreeningConfig(AppConfig):
    name = "jiedao.screening"
    label = "screening"
    verbose_name = "Screening of key persons"

    def ready(self) -> None:
        from jiedao.core import audit

        audit.register_action_labels(ACTION_LABELS)
        from jiedao.screening.own_sections import register

        register()
        from jiedao.screening import jobs  # noqa: F401  (registers the nightly clean-up with Huey)
