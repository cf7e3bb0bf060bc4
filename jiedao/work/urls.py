from django.urls import path

from jiedao.work import views

app_name = "work"
urlpatterns = [path("today/", views.today, name="today")]
