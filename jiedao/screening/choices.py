from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    """Why a city platform pushed the list (one per list)."""

    RED_CODE = "red_code", _("Red code")
    YELLOW_CODE = "yellow_code", _("Yellow code")
    STARRED_ITINERARY = "starred_itinerary", _("Starred itinerary")
    RISK_AREA_ARRIVAL = "risk_area_arrival", _("Arrivals from risk areas")
    CLOSE_CONTACT = "close_contact", _("Close contacts")
    SECONDARY_CONTACT = "secondary_contact", _("Secondary close contacts")
    COMPANION = "companion", _("Spatio-temporal companions")
    FEVER_MEDICINE = "fever_medicine", _("Fever-medicine buyers")
    POSITIVE_POOL = "positive_pool", _("Members of a positive pooled tube")
    OTHER = "other", _("Other")


# The protocol category a list's rows get when their own category column is empty.
SOURCE_CATEGORY = {
    Source.RED_CODE: "red_code",
    Source.YELLOW_CODE: "yellow_code",
    Source.STARRED_ITINERARY: "starred_itinerary",
    Source.CLOSE_CONTACT: "close_contact",
    Source.SECONDARY_CONTACT: "secondary_contact",
    Source.COMPANION: "companion",
    Source.FEVER_MEDICINE: "fever_medicine_buyer",
    Source.POSITIVE_POOL: "positive_pool_member",
    # Arrivals: the risk level decides (the 风险类别 column); without it, verify as a starred itinerary.
    Source.RISK_AREA_ARRIVAL: "starred_itinerary",
    Source.OTHER: "",
}


class KeyPersonStatus(models.TextChoices):
    DISPATCH = "dispatch", _("In the dispatch queue")
    TO_VERIFY = "to_verify", _("To verify")
    CLASSIFIED = "classified", _("Verified and classified")
    CLEARED = "cleared", _("Verified: no measure")
    ELSEWHERE = "elsewhere", _("Reached elsewhere")
    WRONG_PERSON = "wrong_person", _("Wrong person")


OPEN_STATUSES = (KeyPersonStatus.DISPATCH, KeyPersonStatus.TO_VERIFY)
VERIFIED_STATUSES = (
    KeyPersonStatus.CLASSIFIED,
    KeyPersonStatus.CLEARED,
    KeyPersonStatus.ELSEWHERE,
    KeyPersonStatus.WRONG_PERSON,
)
# A new push reopens a key person closed in one of these; a classified one stays as it is.
REOPENABLE = (KeyPersonStatus.CLEARED, KeyPersonStatus.ELSEWHERE, KeyPersonStatus.WRONG_PERSON)


class MatchMethod(models.TextChoices):
    ID = "id", _("By document number")
    PHONE = "phone", _("By phone")
    CONFIRMED = "confirmed", _("Confirmed by hand")
    NEW = "new", _("Not on the register: new person")


class RouteMethod(models.TextChoices):
    HOUSEHOLD = "household", _("By household")
    ADDRESS = "address", _("By address")
    MANUAL = "manual", _("By the dispatcher")
    NONE = "none", _("Not routed")


class Outcome(models.TextChoices):
    REACHED_IN_AREA = "reached_in_area", _("Reached, in our area")
    REACHED_ELSEWHERE = "reached_elsewhere", _("Reached, elsewhere")
    UNREACHABLE = "unreachable", _("Unreachable")
    WRONG_PERSON = "wrong_person", _("Wrong person")
