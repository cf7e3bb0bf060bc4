from django.urls import path

from jiedao.work import views

app_name = "work"
urlpatterns = [
    path("today/", views.today, name="today"),
    path("", views.work_list, name="list"),
    path("export.xlsx", views.work_export, name="export"),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("items/<int:pk>/start/", views.item_start, name="start"),
    path("items/<int:pk>/complete/", views.item_complete, name="complete"),
    path("items/<int:pk>/cancel/", views.item_cancel, name="cancel"),
    path("items/<int:pk>/reassign/", views.item_reassign, name="reassign"),
]
