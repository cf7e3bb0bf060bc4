from django.urls import path

from jiedao.sensors import views

app_name = "sensors"
urlpatterns = [
    path("", views.devices, name="devices"),
    path("export", views.devices_export, name="devices_export"),
    path("devices/new", views.device_add, name="device_add"),
    path("devices/<int:pk>/", views.device, name="device"),
    path("cases/<int:pk>/bind", views.bind, name="bind"),
    path("bindings/<int:pk>/unbind", views.unbind, name="unbind"),
    path("bindings/<int:pk>/grant", views.grant, name="grant"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/export", views.alerts_export, name="alerts_export"),
    path("alerts/<int:pk>/", views.alert, name="alert"),
    path("alerts/<int:pk>/acknowledge", views.alert_ack, name="alert_ack"),
    path("alerts/<int:pk>/check", views.alert_check, name="alert_check"),
    path("alerts/<int:pk>/close", views.alert_close, name="alert_close"),
]
