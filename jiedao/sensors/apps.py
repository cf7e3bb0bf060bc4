from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "sensors.register_device": _("Door sensor registered"),
    "sensors.bind_device": _("Door sensor put on a door"),
    "sensors.unbind_device": _("Door sensor taken off"),
    "sensors.grant_window": _("Door window granted"),
    "sensors.acknowledge_alert": _("Door alert acknowledged"),
    "sensors.check_alert": _("Door alert checked"),
    "sensors.close_alert": _("Door alert closed"),
    "sensors.raise_alert": _("Door alert raised"),
    "sensors.export_devices": _("Door sensors exported"),
    "sensors.export_alerts": _("Door alerts exported"),
}


class SensorsConfig(AppConfig):
    name = "jiedao.sensors"
    label = "sensors"
    verbose_name = "Door sensors"

    def ready(self) -> None:
        from jiedao.core import audit

        audit.register_action_labels(ACTION_LABELS)
        from jiedao.sensors import own_sections

        own_sections.register()
        from jiedao.sensors import jobs  # noqa: F401  (registers the periodic checks with Huey)
