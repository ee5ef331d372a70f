"""An all_or_nothing import holds the writer for the whole file: only a key may ask for it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.api.app import create_app
from service.keys import ApiKey, key_digest
from service.settings import Settings
from tests.conftest import TEST_SECRET

KEY = "planner-key-for-the-all-or-nothing-test"
CSV = b"observed_at,lat,lon,mcc,mnc,radio,signal_dbm\r\n"


def test_all_or_nothing_needs_a_key_in_production(db_url):
    settings = Settings(
        database_url=db_url, device_secret=TEST_SECRET, environment="production",
        aggregate_interval_s=0,
        api_keys=[ApiKey(name="dst", role="authority", sha256=key_digest(KEY))],
    )  # fmt: skip
    form = {"device": "p", "format": "canonical-csv", "all_or_nothing": "true"}
    with TestClient(create_app(settings)) as client:
        anonymous = client.post("/v1/imports", files={"file": ("r.csv", CSV)}, data=form)
        assert anonymous.status_code == 401
        keyed = client.post("/v1/imports", files={"file": ("r.csv", CSV)}, data=form,
                            headers={"X-Deadzone-Key": KEY})  # fmt: skip
        assert keyed.status_code == 200, keyed.text
        chunked = client.post("/v1/imports", files={"file": ("r.csv", CSV)},
                              data={"device": "p", "format": "canonical-csv"})  # fmt: skip
        assert chunked.status_code == 200  # the ordinary, chunked import needs none
