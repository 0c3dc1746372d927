"""The admin pages under ``/admin/``: sign-in, surveys and each survey's Share page (server-rendered)."""
