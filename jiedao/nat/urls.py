from django.urls import path

from jiedao.nat import views

app_name = "nat"
urlpatterns = [
    path("sites/", views.public_map, name="public_sites"),
    path("my-sites/", views.my_sites, name="my_sites"),
    path("my-sites/<int:pk>/", views.site, name="site"),
    path("sites/new", views.site_edit, name="site_new"),
    path("my-sites/<int:pk>/edit", views.site_edit, name="site_edit"),
    path("rounds/new", views.round_new, name="round_new"),
    path("sample/", views.sampler, name="sampler"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("results/", views.results, name="results"),
    path("rounds/", views.rounds, name="rounds"),
    path("rounds/<int:pk>/", views.round_page, name="round"),
    path("rounds/<int:pk>/missing/", views.round_missing, name="round_missing"),
    path("tubes/<str:barcode>/", views.tube, name="tube"),
]
