"""The personal check-in links, at /c/<token> (short, for QR codes): no sign-in."""

from django.urls import path

from jiedao.control.views import cases as views

app_name = "checkin"
urlpatterns = [path("<str:token>", views.self_checkin, name="form")]
