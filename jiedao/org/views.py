from __future__ import annotations

from django.contrib.auth import views as auth_views

from jiedao.org.forms import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "org/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "org:login"
