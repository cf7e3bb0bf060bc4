from django.urls import path

from jiedao.org import views

app_name = "org"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/export.xlsx", views.staff_export, name="staff_export"),
    path("staff/new/", views.staff_new, name="staff_new"),
    path("staff/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/roles/add/", views.staff_add_role, name="staff_add_role"),
    path(
        "staff/<int:pk>/roles/<int:assignment_pk>/revoke/", views.staff_revoke_role, name="staff_revoke_role"
    ),
    path("staff/<int:pk>/active/", views.staff_active, name="staff_active"),
    path("staff/<int:pk>/password/", views.staff_password, name="staff_password"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/new/", views.api_key_new, name="api_key_new"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("working-groups/", views.working_groups, name="working_groups"),
    path("working-groups/new/", views.working_group_new, name="working_group_new"),
    path("working-groups/<int:pk>/", views.working_group_edit, name="working_group_edit"),
]
