from django.urls import path

from dropstream.sync import views

urlpatterns = [
    path("brightsites/<str:secret>", views.brightsites_push, name="brightsites-push"),
]
