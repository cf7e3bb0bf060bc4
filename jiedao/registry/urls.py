from django.urls import path

from jiedao.registry import views

app_name = "registry"
urlpatterns = [
    path("search/", views.search, name="search"),
]
