from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from dropstream.web import views as web_views

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", web_views.home, name="home"),
]
