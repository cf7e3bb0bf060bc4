"""Person-code cards, included by jiedao/nat/urls.py under codes/ (inside the nat namespace)."""

from django.urls import path

from jiedao.nat import views_codes

urlpatterns = [
    path("", views_codes.codes, name="codes"),
    path("print/", views_codes.codes_print, name="codes_print"),
    path("<int:person>/void/", views_codes.codes_void, name="codes_void"),
]
