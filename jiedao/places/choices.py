from django.db import models
from django.utils.translation import gettext_lazy as _


class PlaceKind(models.TextChoices):
    CLINIC = "clinic", _("Clinic")
    PHARMACY = "pharmacy", _("Pharmacy")
    FEVER_CLINIC = "fever_clinic", _("Fever clinic")
    HOSPITAL = "hospital", _("Hospital")
    MERCHANT = "merchant", _("Merchant")
    SUPERMARKET = "supermarket", _("Supermarket")
    MARKET = "market", _("Wet market")
    RESTAURANT = "restaurant", _("Restaurant")
    CONSTRUCTION_SITE = "construction_site", _("Construction site")
    PARCEL_DEPOT = "parcel_depot", _("Parcel depot")
    INTERNET_CAFE = "internet_cafe", _("Internet café")
    HOMESTAY = "homestay", _("Homestay")
    HOTEL = "hotel", _("Hotel")
    SCHOOL = "school", _("School")
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    ENTERPRISE_SITE = "enterprise_site", _("Enterprise site")
    COMPOUND_GATE = "compound_gate", _("Compound gate")
    OFFICE = "office", _("Office")
    OTHER = "other", _("Other")
