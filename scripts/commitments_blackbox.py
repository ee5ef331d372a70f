"""Black-box check of issue 15's loop, over HTTP against a real `deadzone serve` process in
production mode, with an authority key and planner keys for 452-04 and 452-02:

1. residents' phones report two dead zones of Viettel (452-04) a month ago;
2. the authority assigns both to 452-04 (no key: 401; VinaPhone's planner: 403);
3. Viettel's planner marks both on air three days ago (VinaPhone's planner: 403);
4. new readings: signal in the first zone, still none in the second;
5. Viettel's claimed coverage (a polygon over the second zone) is imported with
   `deadzone import-claimed`;
6. /v1/commitments says `verified` and `still_dead`, and the second zone's centre cell is
   in /v1/challenges?operator=452-04.

Run: python scripts/commitments_blackbox.py --port 8140 [--database-url URL]. Prints one
line per check and exits 1 if any fails. Uses only the public API and the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3
import httpx

KEYS = {"authority": "bb-authority-key", "viettel": "bb-viettel-key", "vinaphone": "bb-vnpt-key"}
FIRST = h3.latlng_to_cell(12.70, 108.10, 9)  # two places in Dak Lak, about 5 km apart
SECOND = h3.latlng_to_cell(12.74, 108.12, 9)
SECRET = "blackbox-device-secret-0123456789abcdef"


class Check:
    def __init__(self) -> None:
        self.failed = 0

    def __call__(self, ok: bool, what: str, detail: Any = "") -> None:
        print(f"{'PASS' if ok else 'FAIL'} {what}" + (f": {detail}" if not ok else ""))
        self.failed += 0 if ok else 1


def _digest(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()


def _env(database_url: str) -> dict[str, str]:
    keys = [
        {"name": "so-tt-daklak", "role": "authority", "sha256": _digest(KEYS["authority"])},
        {"name": "viettel-daklak", "role": "planner", "operators": ["452-04"],
         "sha256": _digest(KEYS["viettel"])},
        {"name": "vnpt-daklak", "role": "planner", "operators": ["452-02"],
         "sha256": _digest(KEYS["vinaphone"])},
    ]  # fmt: skip
    return {
        **os.environ,
        "DEADZONE_ENVIRONMENT": "production",
        "DEADZONE_DATABASE_URL": database_url,
        "DEADZONE_DEVICE_SECRET": SECRET,
        "DEADZONE_API_KEYS": json.dumps(keys),
        "DEADZONE_AGGREGATE_INTERVAL_S": "1",
    }


def _readings(cells: list[str], *, days_ago: list[float], dead: bool, tag: str) -> list[dict]:
    now = datetime.now(UTC)
    items = []
    for cell in cells:
        lat, lon = h3.cell_to_latlng(cell)
        for phone in range(3):
            for age in days_ago:
                reading: dict[str, Any] = {
                    "id": f"{tag}-{cell}-{phone}-{age}", "device": f"{tag}-phone-{phone}",
                    "observed_at": (now - timedelta(days=age)).isoformat(), "lat": lat,
                    "lon": lon, "accuracy_m": 5.0, "mcc": 452, "mnc": 4, "radio": "lte",
                }  # fmt: skip
                if dead:
                    reading["no_service"] = True
                else:
                    reading["signal_dbm"] = -85.0
                items.append(reading)
    return items


def _post_per_phone(client: httpx.Client, readings: list[dict]) -> tuple[int, str]:
    """Each phone sends its own readings, as the reporter page and collector apps do: new
    tokens of one request count as one phone (docs/forged-evidence.md, rule 2). Returns the
    readings accepted in all and the first refusal's text."""
    accepted, refused = 0, ""
    for device in sorted({r["device"] for r in readings}):
        sent = client.post("/v1/readings", json={"readings": [
            r for r in readings if r["device"] == device]})  # fmt: skip
        if sent.status_code == 200:
            accepted += sent.json()["accepted"]
        elif not refused:
            refused = sent.text[:300]
    return accepted, refused


def _wait(what: str, condition: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise SystemExit(f"FAIL timed out waiting for {what}")


def run(port: int, database_url: str, workdir: Path) -> int:
    check = Check()
    env = _env(database_url)
    deadzone = str(Path(sys.executable).with_name("deadzone"))
    subprocess.run([deadzone, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [deadzone, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, timeout=60)
    key = {who: {"X-Deadzone-Key": value} for who, value in KEYS.items()}
    try:
        _wait("the server", lambda: _up(client) or _exited(server), timeout=60)
        if server.poll() is not None:
            error = server.stderr.read().decode() if server.stderr else ""
            raise SystemExit(f"FAIL the server stopped: {error[-2000:]}")
        first, second = sorted(h3.grid_disk(FIRST, 1)), sorted(h3.grid_disk(SECOND, 1))
        accepted, refused = _post_per_phone(client, _readings(
            first + second, days_ago=[30, 29], dead=True, tag="before"))  # fmt: skip
        check(accepted == 84, "readings accepted", refused)

        def zones() -> dict[str, str] | None:
            body = client.get("/v1/deadzones?operator=452-04", headers=key["viettel"]).json()
            found = {}
            for zone in body.get("zones", []):
                detail = client.get(f"/v1/deadzones/{zone['id']}", headers=key["viettel"]).json()
                for centre in (FIRST, SECOND):
                    if centre in detail.get("cells", []):
                        found[centre] = zone["id"]
            return found if len(found) == 2 else None

        ids = _wait("two dead zones of 452-04", zones)
        check(True, f"two measured dead zones of 452-04: {ids[FIRST]}, {ids[SECOND]}")
        due = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()
        body = {"zone_id": ids[FIRST], "operator": "452-04", "due": due}
        answer = client.post("/v1/commitments", json=body)
        check(answer.status_code == 401, "assign without a key is 401", answer.status_code)
        answer = client.post("/v1/commitments", json=body, headers=key["vinaphone"])
        check(answer.status_code == 403, "assign with 452-02's planner key is 403",
              answer.status_code)  # fmt: skip
        answer = client.post("/v1/commitments", json=body, headers=key["viettel"])
        check(answer.status_code == 403, "assign with 452-04's planner key is 403",
              answer.status_code)  # fmt: skip
        made = []
        for centre in (FIRST, SECOND):
            answer = client.post("/v1/commitments", json={**body, "zone_id": ids[centre]},
                                 headers=key["authority"])  # fmt: skip
            check(answer.status_code == 201 and "id" in answer.json(),
                  f"the authority assigns {ids[centre]}: 201", answer.text[:300])  # fmt: skip
            made.append(answer.json()["id"])

        on_air = (datetime.now(UTC) - timedelta(days=3)).isoformat()
        change = {"state": "on_air", "on_air_at": on_air, "site": {"name": "DLK-new"}}
        answer = client.patch(f"/v1/commitments/{made[0]}", json=change, headers=key["vinaphone"])
        check(answer.status_code == 403, "452-02's planner may not mark it on air",
              answer.status_code)  # fmt: skip
        for commitment_id in made:
            answer = client.patch(f"/v1/commitments/{commitment_id}", json=change,
                                  headers=key["viettel"])  # fmt: skip
            check(
                answer.status_code == 200 and answer.json()["state"] == "on_air",
                f"452-04's planner marks commitment {commitment_id} on air",
                answer.text[:300],
            )

        good = _readings(first, days_ago=[2, 1], dead=False, tag="after")
        bad = _readings(second, days_ago=[2, 1], dead=True, tag="after")
        accepted, refused = _post_per_phone(client, good + bad)
        check(accepted == 84, "new readings accepted", refused)

        claim = workdir / "viettel-claim.geojson"
        lat, lon = h3.cell_to_latlng(SECOND)
        ring = [[lon - 0.02, lat - 0.02], [lon + 0.02, lat - 0.02], [lon + 0.02, lat + 0.02],
                [lon - 0.02, lat + 0.02], [lon - 0.02, lat - 0.02]]  # fmt: skip
        polygon = {"type": "Polygon", "coordinates": [ring]}
        feature = {"type": "Feature", "properties": {}, "geometry": polygon}
        claim.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
        imported = subprocess.run(
            [deadzone, "import-claimed", str(claim), "--operator", "452-04", "--radio", "lte",
             "--by", "viettel-regulatory"], env=env, capture_output=True, text=True,
        )  # fmt: skip
        check(imported.returncode == 0, "import-claimed", imported.stdout + imported.stderr)

        def verdicts() -> list[str] | None:
            listed = client.get("/v1/commitments?operator=452-04", headers=key["viettel"])
            found = [c["verification"] for c in listed.json()["commitments"]]
            return found if found == ["verified", "still_dead"] else None

        try:
            _wait("verified and still_dead", verdicts, timeout=60)
            check(True, "verification: the first zone verified, the second still_dead")
        except SystemExit as exc:
            check(False, "verification", exc)
        trail = client.get(f"/v1/commitments/{made[1]}", headers=key["authority"]).json()["audit"]
        check([(e["who"], e["action"]) for e in trail]
              == [("so-tt-daklak", "created"), ("viettel-daklak", "updated")],
              "audit trail: who, what, when", trail)  # fmt: skip

        def challenged() -> dict[str, Any] | None:
            answer = client.get("/v1/challenges?operator=452-04", headers=key["authority"])
            cells = {f["properties"]["h3"]: f["properties"] for f in answer.json()["features"]}
            return cells if SECOND in cells else None

        try:
            cells = _wait("the second zone's centre in /v1/challenges", challenged, timeout=60)
            evidence = cells[SECOND]
            check(FIRST not in cells, "the first (verified) zone is not challenged")
            check(True, f"centre cell {SECOND} challenged: {evidence['readings']} readings, "
                  f"{evidence['phones']} phones, {evidence['days']} days")  # fmt: skip
        except SystemExit as exc:
            check(False, "challenge", exc)
        answer = client.get("/v1/challenges?operator=452-04")
        check(answer.status_code == 401, "challenges without a key are 401", answer.status_code)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        client.close()
    print("all checks passed" if not check.failed else f"{check.failed} checks failed")
    return 1 if check.failed else 0


def _exited(server: subprocess.Popen[bytes]) -> bool:
    return server.poll() is not None


def _up(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8140)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/blackbox.sqlite"
        sys.exit(run(args.port, url, Path(folder)))


if __name__ == "__main__":
    main()
