from django.urls import path

from lyfta.accounts import admin_views, client_views, views

app_name = "accounts"
urlpatterns = [
    path("logga-in/", views.login, name="login"),
    path("logga-ut/", views.logout, name="logout"),
    path("oidc/", views.oidc_start, name="oidc_start"),
    path("oidc/svar/", views.oidc_callback, name="oidc_callback"),
    path("aktiv/", views.keepalive, name="keepalive"),
    path("anvandaravtal/", views.agreement, name="agreement"),
    path("anvandaravtal/pdf/", views.agreement_pdf, name="agreement_pdf"),
    path("tvafaktor/", views.mfa_enrol, name="mfa_enrol"),
    path("engangskod/", views.mfa_verify, name="mfa_verify"),
    path("uppdrag/", views.choose_assignment, name="choose_assignment"),
    path("bekrafta/", views.reauthenticate, name="reauthenticate"),
    path("losenord/", views.password_change, name="password_change"),
    path("nytt-losenord/<str:code>/", views.password_set, name="password_set"),
    path("sessioner/", views.my_sessions, name="sessions"),
    path("sessioner/<int:session_id>/avsluta/", views.my_session_end, name="session_end"),
    path("admin/anvandare/", admin_views.users, name="admin_users"),
    path("admin/anvandare/ny/", admin_views.user_create, name="admin_user_create"),
    path("admin/anvandare/<int:user_id>/", admin_views.user_detail, name="admin_user"),
    path("admin/anvandare/<int:user_id>/andra/", admin_views.user_edit, name="admin_user_edit"),
    path(
        "admin/anvandare/<int:user_id>/uppdrag/",
        admin_views.assignment_add,
        name="admin_assignment_add",
    ),
    path(
        "admin/anvandare/<int:user_id>/avtal.pdf",
        admin_views.user_agreement_pdf,
        name="admin_user_agreement_pdf",
    ),
    path(
        "admin/anvandare/<int:user_id>/<str:action>/",
        admin_views.user_action,
        name="admin_user_action",
    ),
    path(
        "admin/uppdrag/<int:assignment_id>/forlang/",
        admin_views.assignment_extend,
        name="admin_assignment_extend",
    ),
    path(
        "admin/uppdrag/<int:assignment_id>/avsluta/",
        admin_views.assignment_end,
        name="admin_assignment_end",
    ),
    path("admin/begaranden/", admin_views.privilege_requests, name="admin_privilege_requests"),
    path(
        "admin/begaranden/<int:request_id>/godkann/",
        admin_views.privilege_request_approve,
        name="admin_privilege_approve",
    ),
    path(
        "admin/begaranden/<int:request_id>/avsla/",
        admin_views.privilege_request_reject,
        name="admin_privilege_reject",
    ),
    path(
        "admin/begaranden/<int:request_id>/aterkalla/",
        admin_views.privilege_request_cancel,
        name="admin_privilege_cancel",
    ),
    path("admin/api-klienter/", client_views.client_list, name="admin_api_clients"),
    path("admin/api-klienter/ny/", client_views.client_create, name="admin_api_client_create"),
    path(
        "admin/api-klienter/<int:client_id>/",
        client_views.client_detail,
        name="admin_api_client",
    ),
    path(
        "admin/api-klienter/<int:client_id>/aterkalla/",
        client_views.client_revoke,
        name="admin_api_client_revoke",
    ),
    path("admin/uppfoljning/", admin_views.recertification, name="admin_recertification"),
    path(
        "admin/uppfoljning/<int:unit_id>/",
        admin_views.recertification_unit,
        name="admin_recertification_unit",
    ),
]
