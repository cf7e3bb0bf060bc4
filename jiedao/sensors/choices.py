from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceStatus(models.TextChoices):
    IN_STOCK = "in_stock", _("In stock")  # registered, not on a door
    BOUND = "bound", _("On a door")
    RETIRED = "retired", _("Retired")


class EventKind(models.TextChoices):
    DOOR_OPEN = "door_open", _("Door opened")
    DOOR_CLOSE = "door_close", _("Door closed")
    TAMPER = "tamper", _("Tampered with")
    HEARTBEAT = "heartbeat", _("Heartbeat")
    BATTERY = "battery", _("Battery report")


class EventSource(models.TextChoices):
    MQTT = "mqtt", _("MQTT")
    HTTP = "http", _("Webhook")


class AlertKind(models.TextChoices):
    DOOR_OPEN = "door_open", _("Door opened during quarantine")
    OFFLINE = "offline", _("Sensor silent")
    TAMPER = "tamper", _("Sensor tampered with")


class AlertStatus(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CHECKED = "checked", _("Checked")
    CLOSED = "closed", _("Closed")


OPEN_ALERT_STATUSES = (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.CHECKED)


class CheckMethod(models.TextChoices):
    PHONE = "phone", _("Phone call")
    ON_SITE = "on_site", _("On site")


class WindowSource(models.TextChoices):
    GRANTED = "granted", _("Granted by the team")
    HOME_SAMPLING = "home_sampling", _("Home sampling")
    DELIVERY = "delivery", _("Delivery")
