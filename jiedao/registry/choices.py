from django.db import models
from django.utils.translation import gettext_lazy as _


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAO_PERMIT = "hk_macao", _("Mainland travel permit (HK/Macao)")
    TAIWAN_PERMIT = "taiwan", _("Mainland travel permit (Taiwan)")
    FOREIGN_PR = "foreign_pr", _("Foreigner's permanent residence ID")
    OTHER = "other", _("Other document")
    NONE = "none", _("No document")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    UNKNOWN = "U", _("Unknown")


class Relation(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDCHILD = "grandchild", _("Grandchild")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Sibling")
    TENANT = "tenant", _("Tenant")
    OTHER = "other", _("Other")


class CareTagKind(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("Elderly living alone")
    DISABLED = "disabled", _("Disabled")
    PREGNANT = "pregnant", _("Pregnant")
    REGULAR_TREATMENT = "regular_treatment", _("Needs regular treatment (e.g. dialysis)")
    INFANT = "infant", _("Infant")
    BEDRIDDEN = "bedridden", _("Bedridden")


class HouseholdStatus(models.TextChoices):
    LIVING = "living", _("Living here")
    AWAY = "away", _("Away")
    MOVED_OUT = "moved_out", _("Moved out")
