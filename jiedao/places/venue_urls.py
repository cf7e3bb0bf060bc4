"""The public venue page (name, kind and the check-in form), mounted at the site root as /v/<venue_code>
(the URL that venue-code QR codes encode, so it must stay short and stable)."""

from django.urls import path

from jiedao.places import views

app_name = "venue"
urlpatterns = [path("<str:code>", views.venue_landing, name="landing")]
