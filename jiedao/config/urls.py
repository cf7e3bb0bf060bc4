from django.urls import include, path
from django.views.i18n import set_language

from jiedao.config.api import api
from jiedao.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/v1/", api.urls),
    path("", include("jiedao.core.urls")),
    path("", include("jiedao.org.urls")),
    path("registry/", include("jiedao.registry.urls")),
    path("places/", include("jiedao.places.urls")),
    path("v/", include("jiedao.places.venue_urls")),
    path("work/", include("jiedao.work.urls")),
    path("protocols/", include("jiedao.protocols.urls")),
    path("screening/", include("jiedao.screening.urls")),
    path("control/", include("jiedao.control.urls")),
    path("c/", include("jiedao.control.checkin_urls")),
    path("sensors/", include("jiedao.sensors.urls")),
    path("tracing/", include("jiedao.tracing.urls")),
    path("nat/", include("jiedao.nat.urls")),
]
handler404 = "jiedao.core.views.not_found"
handler500 = "jiedao.core.views.server_error"
