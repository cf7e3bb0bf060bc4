"""The one HTTP API at /api/v1/: every app adds its router here; one error schema for all."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from jiedao.core.errors import JiedaoError, Unauthenticated
from jiedao.org.auth import API_AUTH

api = NinjaAPI(
    title="jiedao API",
    version="1",
    description="Scoped access to the register, places and work of a subdistrict. "
    "Authenticate with a session cookie or an `X-API-Key` header.",
    auth=API_AUTH,
    urls_namespace="api",
)


@api.exception_handler(JiedaoError)
def _jiedao_error(request: HttpRequest, exc: JiedaoError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    err = Unauthenticated(_("Sign in or send a valid X-API-Key."))
    return api.create_response(request, err.as_dict(), status=401)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path", "payload")]
    body = {
        "error": {
            "code": "invalid",
            "message": first.get("msg", "invalid input"),
            "field": ".".join(loc) or None,
            "details": [
                {"field": ".".join(str(p) for p in e.get("loc", [])), "message": e.get("msg")}
                for e in exc.errors
            ],
        }
    }
    return api.create_response(request, body, status=422)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": "http_error", "message": str(exc)}}, status=exc.status_code
    )


def _register_routers() -> None:
    from jiedao.nat.api import router as nat_router
    from jiedao.places.api import router as places_router
    from jiedao.registry.api import router as registry_router
    from jiedao.screening.api import router as screening_router
    from jiedao.sensors.api import router as sensors_router
    from jiedao.work.api import router as work_router

    api.add_router("/registry/", registry_router)
    api.add_router("/places/", places_router)
    api.add_router("/work/", work_router)
    api.add_router("/screening/", screening_router)
    api.add_router("/sensors/", sensors_router)
    api.add_router("/nat/", nat_router)


_register_routers()
