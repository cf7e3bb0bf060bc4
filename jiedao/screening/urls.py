from django.urls import path

from jiedao.screening import views

app_name = "screening"
urlpatterns = [
    path("", views.key_persons, name="key_persons"),
    path("export", views.key_persons_export, name="key_persons_export"),
    path("dispatch/", views.dispatch, name="dispatch"),
    path("key-persons/<int:pk>/", views.key_person, name="key_person"),
    path("key-persons/<int:pk>/verify", views.verify, name="verify"),
    path("key-persons/<int:pk>/proposal", views.proposal, name="proposal"),
    path("key-persons/<int:pk>/route", views.route, name="route"),
    path("key-persons/<int:pk>/hand-back", views.hand_back, name="hand_back"),
    path("key-persons/<int:pk>/match", views.match, name="match"),
    path("lists/", views.lists, name="lists"),
    path("lists/new", views.list_new, name="list_new"),
    path("lists/staged/<int:pk>/", views.list_staged, name="list_staged"),
    path("lists/<int:pk>/", views.pushed_list, name="list"),
    path("lists/<int:pk>/results", views.list_results, name="list_results"),
]
