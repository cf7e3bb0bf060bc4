from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMAND = "command", _("Command centre")
    COMMUNITY_STAFF = "community_staff", _("Community staff")
    GRID_WORKER = "grid_worker", _("Grid worker")
    DOCTOR = "doctor", _("Doctor")
    POLICE = "police", _("Police liaison")
    VOLUNTEER = "volunteer", _("Volunteer")
    INSPECTOR = "inspector", _("Inspector")
    PHARMACY_CLERK = "pharmacy_clerk", _("Pharmacy clerk")
    SAMPLER = "sampler", _("Sampler")
    ENTERPRISE_LIAISON = "enterprise_liaison", _("Enterprise liaison")
    AUDITOR = "auditor", _("Auditor")


class UnitLevel(models.TextChoices):
    SUBDISTRICT = "subdistrict", _("Subdistrict")
    COMMUNITY = "community", _("Community")
    GRID = "grid", _("Grid")


# Roles that manage staff: command for the whole subdistrict, community staff for their community.
STAFF_MANAGERS = {Role.COMMAND, Role.COMMUNITY_STAFF}
# Roles that may change the register (households, residents, imports).
REGISTRY_EDITORS = {Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER}
# Read-only roles: they see their area but change nothing.
READ_ONLY_ROLES = {Role.AUDITOR}


class ApiPermission(models.TextChoices):
    """What an API key may do on top of its service account's role and scope."""

    REGISTRY_READ = "registry.read", _("Read the register (persons, households)")
    PLACES_READ = "places.read", _("Read places")
    WORK_READ = "work.read", _("Read work items")
    WORK_WRITE = "work.write", _("Create and update work items")
    SCREENING_PUSH = "screening.push", _("Push lists of key persons (command centre keys)")
    SCREENING_READ = "screening.read", _("Read key persons, pushed lists and their results")
    NAT_REGISTER = "nat.register", _("Register samples at sampling sites")
    NAT_RESULTS = "nat.results", _("Record laboratory results (command centre keys)")
    ALL = "*", _("Everything the service account's role allows")


# Roles that only make sense for the whole subdistrict.
SUBDISTRICT_ONLY_ROLES = {Role.COMMAND}
