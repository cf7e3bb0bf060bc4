"""Places of every kind, each with a venue code whose QR code people scan on arrival."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from jiedao.core.crypto import EncryptedTextField
from jiedao.core.models import BaseModel
from jiedao.core.scoping import ScopedQuerySet
from jiedao.org.models import Community, Grid
from jiedao.places.choices import PlaceKind


class Place(BaseModel):
    """A venue in a community (and usually a grid): clinic, pharmacy, shop, site, school, gate…
    The contact phone is personal data: stored encrypted, shown masked."""

    kind = models.CharField(_("kind"), max_length=32, choices=PlaceKind.choices, db_index=True)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    venue_code = models.CharField(_("venue code"), max_length=20, unique=True)
    contact_name = models.CharField(_("contact"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("contact phone"), blank=True)
    contact_phone_masked = models.CharField(_("contact phone"), max_length=20, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name"]
        indexes = [
            models.Index(fields=["community", "kind"]),
            models.Index(fields=["grid", "kind"]),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("places:detail", args=[self.pk])
