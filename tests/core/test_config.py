import pytest
from pydantic import ValidationError

from nrmc.config import Settings, load_settings

STRONG = "q7Vf-2LmZpX9rT4kWb8NcY3hJd6sGa1eUo5iRx0Ht"  # 41 characters of four classes
OTHER_STRONG = "Zm4Qp8Lr2Xv6Nt0Bc9Hk3Wd7Jf1Gs5Ya-Ue_Ri2To"


def test_defaults_give_sqlite_inside_home(tmp_path):
    settings = Settings(home=tmp_path)
    assert settings.db_url == f"sqlite:///{(tmp_path / 'nrmc.db').resolve()}"
    assert settings.engine == "duckdb"


def test_production_refuses_the_default_secret(tmp_path):
    with pytest.raises(ValidationError, match="NRMC_SECRET_KEY"):
        Settings(home=tmp_path, env="production", pseudonym_key=STRONG)


def test_production_refuses_the_default_pseudonym_key(tmp_path):
    with pytest.raises(ValidationError, match="NRMC_PSEUDONYM_KEY"):
        Settings(home=tmp_path, env="production", secret_key=STRONG)


def test_settings_read_nrmc_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("NRMC_HOME", str(tmp_path))
    monkeypatch.setenv("NRMC_ENGINE", "spark")
    monkeypatch.setenv("NRMC_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = Settings()
    assert settings.home == tmp_path and settings.engine == "spark"
    assert settings.db_url == "postgresql+psycopg://u@h/db"


def test_unknown_engine_is_refused():
    with pytest.raises(ValidationError):
        Settings(engine="hadoop")


@pytest.mark.parametrize("weak, why", [
    ("", "empty"),
    ("   ", "empty"),
    ("short-but-random-Q7x", "at least 32 characters"),
    ("s" * 40, "too predictable"),
    ("abababababababababababababababababab", "too predictable"),
    ("12345678901234567890123456789012", "too predictable"),
])
def test_production_refuses_a_weak_pseudonym_key(tmp_path, weak, why):
    with pytest.raises(ValidationError, match=f"NRMC_PSEUDONYM_KEY.*{why}|NRMC_PSEUDONYM_KEY is {why}"):
        Settings(home=tmp_path, env="production", secret_key=STRONG, pseudonym_key=weak)


def test_production_refuses_a_weak_secret_key(tmp_path):
    with pytest.raises(ValidationError, match="NRMC_SECRET_KEY must be at least 32"):
        Settings(home=tmp_path, env="production", secret_key="x" * 20 + "Q1", pseudonym_key=STRONG)


def test_production_accepts_random_keys(tmp_path):
    import secrets

    settings = Settings(home=tmp_path, env="production", secret_key=secrets.token_urlsafe(48),
                        pseudonym_key=secrets.token_hex(32))
    assert settings.env == "production"
    assert Settings(home=tmp_path, env="production", secret_key=STRONG,
                    pseudonym_key=OTHER_STRONG).env == "production"


def test_trusted_proxies_are_parsed_and_a_malformed_one_is_refused(tmp_path):
    settings = Settings(home=tmp_path, trusted_proxies="10.0.0.0/8, 127.0.0.1")
    assert [str(n) for n in settings.trusted_networks] == ["10.0.0.0/8", "127.0.0.1/32"]
    with pytest.raises(ValidationError, match="NRMC_TRUSTED_PROXIES"):
        Settings(home=tmp_path, trusted_proxies="10.0.0.0/8, proxy.local")


def test_the_fhir_base_is_a_setting_read_from_nrmc_fhir_base(monkeypatch):
    monkeypatch.delenv("NRMC_FHIR_BASE", raising=False)
    assert Settings().fhir_base == "https://nrmc.example.org/fhir"
    monkeypatch.setenv("NRMC_FHIR_BASE", "https://fhir.gansu.example.cn/nrmc/")
    # One spelling, without the trailing slash: the systems derived from it are then unique.
    assert load_settings().fhir_base == "https://fhir.gansu.example.cn/nrmc"
    for bad in ("urn:nrmc", "nrmc.example.org/fhir", "https://x.example/fhir?v=1", "ftp://x/y"):
        with pytest.raises(ValueError, match="NRMC_FHIR_BASE"):
            Settings(fhir_base=bad)
