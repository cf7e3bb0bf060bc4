from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "jiedao.places"
    label = "places"
