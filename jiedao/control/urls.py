from django.urls import path

from jiedao.control.views import care, transfers
from jiedao.control.views import cases as views

app_name = "control"
urlpatterns = [
    path("", views.cases, name="cases"),
    path("export", views.cases_export, name="cases_export"),
    path("to-open/", views.to_open, name="to_open"),
    path("open/<int:key_person_pk>", views.open_case, name="open"),
    path("cases/<int:pk>/", views.case, name="case"),
    path("cases/<int:pk>/start", views.start, name="start"),
    path("cases/<int:pk>/cancel", views.cancel, name="cancel"),
    path("cases/<int:pk>/release", views.release, name="release"),
    path("cases/<int:pk>/team", views.team, name="team"),
    path("cases/<int:pk>/checkin", views.record_checkin, name="checkin"),
    path("cases/<int:pk>/link", views.issue_link, name="link"),
    path("cases/<int:pk>/notice", views.notice, name="notice"),
    path("cases/<int:pk>/measure", views.measure, name="measure"),
    *transfers.urlpatterns,
    *care.urlpatterns,
]
