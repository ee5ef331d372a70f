"""Security headers on every HTML answer, and a production secret that is not guessable."""

from __future__ import annotations

import pytest

from service.errors import ConfigurationError
from service.settings import Settings

HTML_PATHS = ["/report", "/progress", "/plan", "/maps/coverage.html", "/maps/deadzones.html",
              "/docs"]  # fmt: skip


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_html_page_carries_csp_and_refuses_framing(client):
    for path in HTML_PATHS:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html"), path
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, path
        # a page may set a stricter policy of its own (default-src 'none'); it is kept
        assert "object-src 'none'" in csp or "default-src 'none'" in csp, path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path
    api = client.get("/v1/stats")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers


@pytest.mark.parametrize("secret", [" " * 16, "a" * 40, "abababababababababab", "0000000011111111"])
def test_production_refuses_a_predictable_secret(secret):
    settings = Settings(environment="production", device_secret=secret)
    with pytest.raises(ConfigurationError, match="DEADZONE_DEVICE_SECRET"):
        settings.enforce_safe_for_serving()


def test_production_accepts_a_random_secret():
    Settings(
        environment="production", device_secret="9f2c4e1a7b3d8c6f0e5a2b9d4c7e1f3a8b6d"
    ).enforce_safe_for_serving()
