from django.urls import include, path

from jiedao.nat import views, views_groups, views_rounds

app_name = "nat"
urlpatterns = [
    path("sites/", views.public_map, name="public_sites"),
    path("my-sites/", views.my_sites, name="my_sites"),
    path("my-sites/<int:pk>/", views.site, name="site"),
    path("sites/new", views.site_edit, name="site_new"),
    path("my-sites/<int:pk>/edit", views.site_edit, name="site_edit"),
    path("rounds/new", views.round_new, name="round_new"),
    path("sample/", views.sampler, name="sampler"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("results/", views.results, name="results"),
    path("rounds/", views.rounds, name="rounds"),
    path("rounds/<int:pk>/", views.round_page, name="round"),
    path("rounds/<int:pk>/missing/", views.round_missing, name="round_missing"),
    path("rounds/<int:pk>/assignments/", views_rounds.assignments, name="assignments"),
    path("rounds/<int:pk>/exempt", views_rounds.exempt, name="exempt"),
    path("rounds/<int:pk>/exemptions/", views_rounds.exemptions, name="exemptions"),
    path(
        "rounds/<int:pk>/exemptions/<int:exemption_pk>/lift",
        views_rounds.exemption_lift,
        name="exemption_lift",
    ),
    path("rounds/<int:pk>/issue-missing", views_rounds.issue_missing, name="issue_missing"),
    path("rounds/<int:pk>/missing-schedule", views_rounds.missing_schedule, name="missing_schedule"),
    path("rounds/<int:pk>/reconcile/", views_rounds.reconcile, name="reconcile"),
    path("groups/", views_groups.groups, name="groups"),
    path("groups/new", views_groups.group_edit, name="group_new"),
    path("groups/<int:pk>/", views_groups.group, name="group"),
    path("groups/<int:pk>/edit", views_groups.group_edit, name="group_edit"),
    path("groups/<int:pk>/members/<int:member_pk>/remove", views_groups.member_remove, name="member_remove"),
    path("tubes/<str:barcode>/", views.tube, name="tube"),
    path("codes/", include("jiedao.nat.urls_codes")),  # nat:codes, nat:codes_print
]
