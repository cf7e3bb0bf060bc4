from django.urls import path

from jiedao.places import views

app_name = "places"
urlpatterns = [
    path("", views.place_list, name="list"),
    path("export.xlsx", views.place_export, name="export"),
    path("new/", views.place_create, name="create"),
    path("<int:pk>/", views.place_detail, name="detail"),
    path("<int:pk>/edit/", views.place_edit, name="edit"),
    path("<int:pk>/deactivate/", views.place_deactivate, name="deactivate"),
    path("<int:pk>/reactivate/", views.place_reactivate, name="reactivate"),
    path("<int:pk>/contact/", views.place_reveal_contact, name="reveal_contact"),
    path("<int:pk>/poster/", views.place_poster, name="poster"),
    path("<int:pk>/qr.svg", views.place_qr_svg, name="qr"),
]
