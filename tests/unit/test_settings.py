from pathlib import Path

import pytest

from reverse_etl.core.errors import ConfigError
from reverse_etl.core.settings import load_settings

LIVE = {
    "XERO_CLIENT_ID": "client-abc",
    "XERO_CLIENT_SECRET": "very-secret-value",
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-0123456789",
}


def test_no_credentials_means_sandbox_mode():
    settings = load_settings({}, dotenv_path=None)
    assert settings.sandbox
    assert settings.mode_line.startswith("Sandbox mode")
    assert settings.xero.base_url == "http://127.0.0.1:18710"
    assert settings.hubspot.object_name == "xero_invoice"
    assert settings.warehouse_path == Path("warehouse/invoices.duckdb")


def test_live_settings_and_defaults():
    settings = load_settings(LIVE, dotenv_path=None)
    assert not settings.sandbox
    assert settings.xero.base_url == "https://api.xero.com"
    assert settings.xero.identity_url == "https://identity.xero.com"
    assert settings.hubspot.base_url == "https://api.hubapi.com"
    assert settings.xero.grant_type == "client_credentials"


def test_refresh_token_selects_standard_app_grant():
    settings = load_settings({**LIVE, "XERO_REFRESH_TOKEN": "rt-1"}, dotenv_path=None)
    assert settings.xero.grant_type == "refresh_token"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"XERO_CLIENT_ID": "x", "HUBSPOT_ACCESS_TOKEN": "t"}, "XERO_CLIENT_SECRET"),
        ({"XERO_CLIENT_ID": "x", "XERO_CLIENT_SECRET": "y"}, "HUBSPOT_ACCESS_TOKEN"),
        ({"HUBSPOT_ACCESS_TOKEN": "t"}, "XERO_CLIENT_ID"),
        ({**LIVE, "XERO_BASE_URL": "api.xero.com"}, "XERO_BASE_URL"),
        ({**LIVE, "HUBSPOT_BASE_URL": "ftp://x"}, "HUBSPOT_BASE_URL"),
        ({**LIVE, "XERO_TENANT_ID": "not-a-uuid"}, "XERO_TENANT_ID"),
        ({**LIVE, "HUBSPOT_OBJECT_NAME": "Bad Name"}, "HUBSPOT_OBJECT_NAME"),
        ({**LIVE, "HUBSPOT_OBJECT_NAME": "invoice"}, "HUBSPOT_OBJECT_NAME"),
        ({**LIVE, "HUBSPOT_REQUESTS_PER_10S": "fast"}, "HUBSPOT_REQUESTS_PER_10S"),
        ({**LIVE, "XERO_PAGE_SIZE": "5000"}, "XERO_PAGE_SIZE"),
        ({**LIVE, "XERO_WEBHOOK_DEBOUNCE_MS": "-1"}, "XERO_WEBHOOK_DEBOUNCE_MS"),
    ],
)
def test_bad_configuration_names_the_variable(env, variable):
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env, dotenv_path=None)
    assert variable in str(excinfo.value)


def test_secrets_are_masked_in_describe():
    settings = load_settings(
        {**LIVE, "ALERT_URLS": "slack://T000/B000/XXXXSECRET json://hooks.example/x"},
        dotenv_path=None,
    )
    shown = " ".join(value for _, value in settings.describe())
    assert "very-secret-value" not in shown
    assert "pat-na1-0123456789" not in shown
    assert "XXXXSECRET" not in shown
    assert "client-abc" in shown


def test_dotenv_fills_gaps_but_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "XERO_CLIENT_ID=from-file\nXERO_CLIENT_SECRET=file-secret\n"
        "HUBSPOT_ACCESS_TOKEN=file-token\nWAREHOUSE_PATH=/data/w.duckdb\n"
    )
    settings = load_settings({"XERO_CLIENT_ID": "from-env"}, dotenv_path=dotenv)
    assert settings.xero.client_id == "from-env"
    assert settings.xero.client_secret == "file-secret"
    assert settings.warehouse_path == Path("/data/w.duckdb")


def test_tenant_ids_are_split_on_commas_and_spaces():
    a = "11111111-2222-3333-4444-555555555555"
    b = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    settings = load_settings({**LIVE, "XERO_TENANT_ID": f"{a}, {b}"}, dotenv_path=None)
    assert settings.xero.tenant_ids == (a, b)


def test_tilde_in_paths_is_expanded_once_for_every_user_of_the_path(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_settings({**LIVE, "WAREHOUSE_PATH": "~/wh/invoices.duckdb"}, dotenv_path=None)
    assert settings.warehouse_path == tmp_path / "wh" / "invoices.duckdb"
    assert settings.state_dir == tmp_path / "wh"
    assert "~" not in str(settings.xero.token_file)


@pytest.mark.parametrize(
    "text",
    [
        'XERO_CLIENT_ID=a\nXERO_CLIENT_SECRET="unclosed\nHUBSPOT_ACCESS_TOKEN=t\n',
        'XERO_CLIENT_ID=a\nXERO_CLIENT_SECRET="unclosed\nHUBSPOT_ACCESS_TOKEN=t\nREF="x"\n',
    ],
)
def test_an_unclosed_quote_in_dotenv_is_an_error_naming_the_line(tmp_path, text):
    dotenv = tmp_path / ".env"
    dotenv.write_text(text)
    with pytest.raises(ConfigError, match="line 2"):
        load_settings({}, dotenv_path=dotenv)


def test_a_multiline_quoted_value_is_still_allowed(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text('XERO_CLIENT_ID=a\nNOTE="two\nlines"\nXERO_CLIENT_SECRET=s\n'
                      "HUBSPOT_ACCESS_TOKEN=t\n")  # fmt: skip
    assert load_settings({}, dotenv_path=dotenv).xero.client_secret == "s"


def test_an_empty_environment_variable_does_not_hide_the_dotenv_value(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("XERO_CLIENT_ID=a\nXERO_CLIENT_SECRET=s\nHUBSPOT_ACCESS_TOKEN=file-token\n")
    settings = load_settings({"HUBSPOT_ACCESS_TOKEN": ""}, dotenv_path=dotenv)
    assert settings.hubspot.access_token == "file-token"
    assert not settings.sandbox


def test_credentials_inside_urls_are_never_shown():
    settings = load_settings(
        {
            **LIVE,
            "XERO_BASE_URL": "https://proxyuser:proxy-pass-123@proxy.example:8443",
            "HUBSPOT_BASE_URL": "https://api.example?hapikey=secret-key-456",
        },
        dotenv_path=None,
    )
    shown = " ".join(value for _, value in settings.describe()) + settings.mode_line
    assert "proxy-pass-123" not in shown and "proxyuser" not in shown
    assert "secret-key-456" not in shown
    assert "proxy.example:8443" in shown and "api.example" in shown


@pytest.mark.parametrize(
    ("warehouse", "analytics"),
    [
        ("/data/w.duckdb", "/data/w.duckdb.wal"),
        ("/data/w.duckdb", "/data/w.duckdb.lock"),
        ("/data/w.duckdb", "/data/sub/../w.duckdb.wal"),
        ("/data/a.duckdb.wal", "/data/a.duckdb"),
    ],
)
def test_analytics_path_is_never_one_of_the_warehouse_files(warehouse, analytics):
    with pytest.raises(ConfigError) as refused:
        load_settings({"WAREHOUSE_PATH": warehouse, "ANALYTICS_PATH": analytics}, dotenv_path=None)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"ANALYTICS_PATH={analytics} and WAREHOUSE_PATH={warehouse}")
    assert "set ANALYTICS_PATH to a separate database file" in message
    beside = load_settings(
        {"WAREHOUSE_PATH": "/data/w.duckdb", "ANALYTICS_PATH": "/data/w.analytics.duckdb"},
        dotenv_path=None,
    )
    assert beside.analytics_path == Path("/data/w.analytics.duckdb")


def test_analytics_path_defaults_beside_the_warehouse_and_must_be_another_file():
    settings = load_settings({"WAREHOUSE_PATH": "/data/w.duckdb"}, dotenv_path=None)
    assert settings.analytics_path == Path("/data/analytics.duckdb")
    own = load_settings({"ANALYTICS_PATH": "/srv/a.duckdb"}, dotenv_path=None)
    assert own.analytics_path == Path("/srv/a.duckdb")
    assert ("ANALYTICS_PATH", "/srv/a.duckdb") in own.describe()
    with pytest.raises(ConfigError, match="ANALYTICS_PATH"):
        load_settings(
            {"WAREHOUSE_PATH": "/data/w.duckdb", "ANALYTICS_PATH": "/data/w.duckdb"},
            dotenv_path=None,
        )
