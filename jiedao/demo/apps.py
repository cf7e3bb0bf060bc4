from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "jiedao.demo"
    label = "demo"
