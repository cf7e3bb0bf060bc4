from django.urls import path

from jiedao.protocols import views

app_name = "protocols"
urlpatterns = [
    path("", views.protocol_list, name="list"),
]
