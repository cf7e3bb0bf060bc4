from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "work.create": _("Work item created"),
    "work.create_many": _("Work items created"),
    "work.move_due": _("Deadline moved"),
    "work.start": _("Work started"),
    "work.complete": _("Marked done"),
    "work.cancel": _("Cancelled"),
    "work.reassign": _("Reassigned"),
    "work.escalate": _("Escalated to the supervisor"),
    "work.export": _("Exported to Excel"),
}


class WorkConfig(AppConfig):
    name = "jiedao.work"
    label = "work"

    def ready(self) -> None:
        from jiedao.core import audit

        audit.register_action_labels(ACTION_LABELS)
        # Dashboard cards and the Today page's own sections register here (core never imports work);
        # importing jobs registers the periodic escalation with Huey, which only autodiscovers tasks.py.
        from jiedao.work import cards, jobs  # noqa: F401
        from jiedao.work.today import register_builtin_sections

        register_builtin_sections()
