-- Drops the product tables of the baseline; the legacy tables (and their rows) are never touched.

DROP TABLE IF EXISTS public.alert_delivery;
DROP TABLE IF EXISTS public.alert_event;
DROP TABLE IF EXISTS public.alert_rule;
DROP TABLE IF EXISTS public.cli_login_code;
DROP TABLE IF EXISTS public.api_token;
