from django.urls import path

from dropstream.sync import views

urlpatterns = [
    path("<slug:platform>/<str:secret>", views.hook, name="hook"),
]
