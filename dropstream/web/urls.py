from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from dropstream.web.views import alerts, connections, help, inventory, orders, users, wizard
from dropstream.web.views.dashboard import home

app_name = "web"

urlpatterns = [
    path("", home, name="home"),
    path("connections/", connections.connection_list, name="connections"),
    path("connections/new/", wizard.wizard_start, name="wizard-start"),
    path("connections/new/cancel/", wizard.wizard_cancel, name="wizard-cancel"),
    path("connections/new/<slug:step>/", wizard.wizard, name="wizard"),
    path("connections/<int:pk>/", connections.connection_detail, name="connection"),
    path("connections/<int:pk>/enabled/", connections.connection_toggle,
         name="connection-toggle"),
    path("connections/<int:pk>/settings/", connections.connection_settings,
         name="connection-settings"),
    path("connections/<int:pk>/settings/<slug:part>/", connections.connection_settings_save,
         name="connection-settings-save"),
    path("connections/<int:pk>/test/<slug:part>/", connections.connection_test,
         name="connection-test"),
    path("connections/<int:pk>/channels/<slug:channel_type>/enabled/",
         connections.channel_toggle, name="channel-toggle"),
    path("connections/<int:pk>/channels/<slug:channel_type>/run/", connections.channel_run,
         name="channel-run"),
    path("connections/<int:pk>/channels/<slug:channel_type>/rules/", connections.channel_rules,
         name="channel-rules"),
    path("connections/<int:pk>/shipping/", connections.shipping_add, name="shipping-add"),
    path("connections/<int:pk>/shipping/import/", connections.shipping_import,
         name="shipping-import"),
    path("connections/<int:pk>/shipping/<int:row>/delete/", connections.shipping_delete,
         name="shipping-delete"),
    path("connections/<int:pk>/listings/", connections.listing_add, name="listing-add"),
    path("connections/<int:pk>/listings/<int:row>/delete/", connections.listing_delete,
         name="listing-delete"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/bulk/", orders.order_bulk, name="orders-bulk"),
    path("orders/<int:pk>/", orders.order_detail, name="order"),
    path("orders/<int:pk>/edit/", orders.order_edit, name="order-edit"),
    path("orders/<int:pk>/<slug:action>/", orders.order_action, name="order-action"),
    path("shipments/", orders.shipment_list, name="shipments"),
    path("inventory/", inventory.inventory, name="inventory"),
    path("alerts/", alerts.alert_list, name="alerts"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert"),
    path("alerts/<int:pk>/resolve/", alerts.alert_resolve, name="alert-resolve"),
    path("users/", users.user_list, name="users"),
    path("users/invite/", users.user_invite, name="user-invite"),
    path("profile/", users.profile, name="profile"),
    path("welcome/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="registration/set_password.html",
        success_url=reverse_lazy("login")), name="set-password"),
    path("help/", help.help_page, name="help"),
    path("help/<slug:slug>/", help.help_page, name="help-page"),
]
