"""The site's URLs with the protocols page mounted at /protocols/, for page tests that must pass
before (and after) config/urls.py includes it."""

from django.urls import include, path

from jiedao.config.urls import handler404, handler500  # noqa: F401
from jiedao.config.urls import urlpatterns as site_patterns

urlpatterns = list(site_patterns)
if not any(getattr(p, "namespace", None) == "protocols" for p in site_patterns):
    urlpatterns.append(path("protocols/", include("jiedao.protocols.urls")))
