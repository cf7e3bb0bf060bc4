from django.urls import path

from jiedao.tracing import views

app_name = "tracing"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("cases/<int:case_id>/start", views.start, name="start"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    path("runs/<int:run_id>/push", views.push, name="push"),
    path("runs/<int:run_id>/export", views.export, name="export"),
]
