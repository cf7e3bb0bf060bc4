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


# Who may do what with places (role values of org.choices.Role). Scope always applies on top.
# Viewers: everyone whose work touches venues; auditors read but change nothing.
PLACE_VIEWERS = (
    "command", "community_staff", "grid_worker", "inspector", "pharmacy_clerk", "enterprise_liaison",
    "auditor",
)  # fmt: skip
# Editors keep the register of places current: command anywhere, community staff in their community,
# grid workers in their own grid (they survey the venues on their beat).
PLACE_EDITORS = ("command", "community_staff", "grid_worker")
# Taking a place off the register changes what later modules (tracing, inspections) can reach,
# so it stays with command and community staff.
PLACE_DEACTIVATORS = ("command", "community_staff")
# Those who may need to phone a venue's contact; each reveal is audited with its reason.
CONTACT_REVEALERS = (
    "command", "community_staff", "grid_worker", "inspector", "pharmacy_clerk", "enterprise_liaison",
)  # fmt: skip
# Kinds that get their own card on the dashboard, in this order.
DASHBOARD_KINDS = (PlaceKind.CLINIC, PlaceKind.PHARMACY, PlaceKind.FEVER_CLINIC)
