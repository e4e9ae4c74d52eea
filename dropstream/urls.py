from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dropstream.web import views as web_views
from dropstream.web.views.metrics import metrics_view

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("login/", web_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Before admin.site.urls, so that /admin/login/ (and reverse("admin:login")) is throttled.
    path("admin/login/", web_views.admin_login),
    path("admin/", admin.site.urls),
    path("api/", include("dropstream.api.urls")),
    path("hooks/", include("dropstream.sync.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("", include("dropstream.web.urls")),
]
