from django.apps import AppConfig


class WorkConfig(AppConfig):
    name = "jiedao.work"
    label = "work"
