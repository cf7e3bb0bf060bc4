from django.urls import path

from jiedao.registry import views

app_name = "registry"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("households/", views.households, name="households"),
    path("households/export/", views.households_export, name="households_export"),
    path("households/add/", views.household_add, name="household_add"),
    path("households/<int:pk>/", views.household, name="household"),
    path("households/<int:pk>/residents/add/", views.resident_add, name="resident_add"),
    path("residents/<int:pk>/move-out/", views.resident_move_out, name="resident_move_out"),
    path("persons/", views.persons, name="persons"),
    path("persons/export/", views.persons_export, name="persons_export"),
    path("persons/<int:pk>/", views.person, name="person"),
    path("persons/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("persons/<int:pk>/care-tags/", views.person_care_tags, name="person_care_tags"),
    path("persons/<int:pk>/unmask/", views.person_unmask, name="person_unmask"),
    path("import/", views.import_start, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/<int:pk>/", views.import_batch, name="import_batch"),
    path("import/<int:pk>/check/", views.import_check, name="import_check"),
    path("import/<int:pk>/commit/", views.import_commit, name="import_commit"),
]
