from django.urls import path

from sso import views

urlpatterns = [
    path("start/", views.sso_choose, name="sso-choose"),
    path("callback/", views.sso_callback, name="sso-callback"),
    path("<slug:slug>/start/", views.sso_start, name="sso-start"),
]
