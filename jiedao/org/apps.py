from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "org.assign_role": _("Role granted"),
    "org.revoke_role": _("Role revoked"),
    "org.create_staff": _("Account created"),
    "org.create_service_account": _("Service account created"),
    "org.reset_password": _("Password reset"),
    "org.set_staff_active": _("Account activated or deactivated"),
    "org.create_api_key": _("API key created"),
    "org.revoke_api_key": _("API key revoked"),
    "org.create_working_group": _("Working group created"),
    "org.update_working_group": _("Working group changed"),
    "org.export_staff": _("Staff list exported to Excel"),
}


class OrgConfig(AppConfig):
    name = "jiedao.org"
    label = "org"
    verbose_name = "Organisation"

    def ready(self) -> None:
        from jiedao.core import audit, dashboard
        from jiedao.org.cards import staff_cards

        dashboard.register(90)(staff_cards)
        audit.register_action_labels(ACTION_LABELS)
