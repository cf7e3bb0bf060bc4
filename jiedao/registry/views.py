from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jiedao.core.decorators import role_required


@role_required()
def search(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"cards": []})
