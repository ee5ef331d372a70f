"""CSV downloads for a meeting (issue 18): with ``lang=vi``, what the pages link to, every
header and word is Vietnamese, shares are percentages, people whole, days dd/mm/yyyy, in a
file a Vietnamese Excel opens in columns (semicolons, decimal commas); ``lang=en`` and no
``lang`` give the English file scripts read (commas, decimal points, whole people)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from service.publish.sheets import COLUMNS, VI_DELIMITER, localized_csv
from tests.areas.test_progress_api import FORMULA, grid, read_csv  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("grid")  # the areas, statuses and zones of those tests

# No Vietnamese file may show a status code or a share as a fraction.
CODES = re.compile(r"\b(trang_song|lom_song|covered|unknown|dead|weak|open|province)\b")


def read_vi(response) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a Vietnamese download, read as Excel in Vietnam reads it."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8-sig")
    assert "\r\n" in text
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=VI_DELIMITER)
    header, *rows = list(reader)
    assert not CODES.search(text), CODES.search(text)
    return header, [dict(zip(header, row, strict=True)) for row in rows]


def number(cell: str) -> float:
    """A Vietnamese number cell: decimal comma, no grouping."""
    assert re.fullmatch(r"-?\d+(,\d+)?", cell), cell
    return float(cell.replace(",", "."))


def test_progress_areas_in_vietnamese(client):
    header, rows = read_vi(client.get("/v1/progress/areas", params={"format": "csv", "lang": "vi"}))
    assert header[:4] == ["Mã", "Cấp", "Tên", "Dân số (người)"]
    assert "Tỷ lệ dân có sóng (%)" in header
    province, c1, c2, c3 = rows
    assert (province["Cấp"], c1["Cấp"]) == ("Tỉnh", "Xã")
    assert c1["Tên"] == "Ea Ktur" and c2["Tên"] == "'" + FORMULA
    # People whole (never "600.0"), the share a percentage with one decimal.
    assert c1["Còn thiếu để đạt mục tiêu (người)"] == "600"
    assert c1["Dân số (người)"] == "900"
    english = {r["code"]: r for r in read_csv(client.get("/v1/progress/areas?format=csv"))}
    share = float(english["C1"]["covered_share"])
    assert 0 < share < 1
    assert number(c1["Tỷ lệ dân có sóng (%)"]) == pytest.approx(round(share * 100, 1))
    assert c3["Tỷ lệ dân có sóng (%)"] == ""  # nobody lives there: no share, not 0


def test_villages_in_vietnamese_with_status_words(client):
    params = {"status": ["trang_song", "lom_song", "unknown"], "format": "csv", "lang": "vi"}
    header, rows = read_vi(client.get("/v1/villages", params=params))
    assert header[:4] == ["Mã", "Tên", "Mã xã", "Xã"]
    by_code = {r["Mã"]: r for r in rows}
    assert by_code["V1"]["Tình trạng"] == "Lõm sóng"
    assert by_code["V2"]["Tình trạng"] == "Trắng sóng"
    assert by_code["V3"]["Tình trạng"] == "Chưa đủ dữ liệu"
    assert by_code["V2"]["Ô trung tâm thôn"] == "Mất sóng"
    assert by_code["V1"]["Số dân ở nơi mất sóng (người)"] == "100"
    assert by_code["V1"]["Tên"] == "Buôn Đôn" and by_code["V3"]["Tên"] == "'-2+3"


def test_deadzones_and_plan_in_vietnamese(client):
    header, rows = read_vi(client.get("/v1/deadzones", params={"format": "csv", "lang": "vi"}))
    assert header[:4] == ["Hạng", "Mã vùng", "Nhà mạng", "Trạng thái xử lý"]
    first = rows[0]
    assert (first["Hạng"], first["Mã vùng"]) == ("1", "dz-any-far")
    assert first["Nhà mạng"] == "Tất cả nhà mạng" and first["Trạng thái xử lý"] == "Chưa xử lý"
    assert (
        header[-2:] == ["Loại sóng", "Xã của từng thôn, buôn"]
        and first["Loại sóng"] == "Mọi loại sóng"
    )
    assert first["Dân số (người)"] == "100"
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", first["Lần cuối ghi nhận"])
    header, sites = read_vi(
        client.get("/v1/plan", params={"sites": 2, "format": "csv", "lang": "vi"})
    )
    assert "Số dân được phủ sóng thêm (người)" in header and sites
    for site in sites:
        assert re.fullmatch(r"\d+", site["Số dân được phủ sóng thêm (người)"])
        assert number(site["Bán kính phủ sóng (km)"]) > 1
        assert number(site["Vĩ độ"]) == pytest.approx(12.68, abs=0.1)


def test_english_is_the_default(client):
    for path, params in (
        ("/v1/progress/areas", {}),
        ("/v1/villages", {}),
        ("/v1/deadzones", {}),
        ("/v1/plan", {"sites": 2}),
    ):
        plain = client.get(path, params={**params, "format": "csv"})
        english = client.get(path, params={**params, "format": "csv", "lang": "en"})
        assert english.content == plain.content, path
        assert english.content.decode("utf-8-sig").split("\r\n")[0].split(",")[0] in (
            "code", "rank"
        )  # fmt: skip
    assert client.get("/v1/villages", params={"lang": "fr"}).status_code == 422


def test_english_writes_whole_people_as_integers(client):
    rows = read_csv(client.get("/v1/progress/areas", params={"format": "csv"}))
    for row in rows:
        for name in ("population", "people_covered", "people_dead", "villages_covered"):
            assert re.fullmatch(r"\d+(\.\d+)?", row[name]) and not row[name].endswith(".0"), row
        assert re.fullmatch(r"([01](\.\d{1,6})?)?", row["covered_share"]), row  # none: no people
    # A whole person from a float loses ".0"; a fraction of one keeps it; shares six places.
    text = localized_csv(
        ("name", "population", "people_dead", "covered_share", "rank"),
        [["Buôn Đôn", 72000.0, 12.5, 0.9506388888888889, 3]],
        lang="en",
    )
    assert text.split("\r\n")[1] == '"Buôn Đôn",72000,12.5,0.950639,3'


def test_every_download_column_has_a_vietnamese_header():
    from service.areas.progress import AREA_FIELDS, VILLAGE_CSV_HEADER
    from service.publish.cells import ZONE_CSV_HEADER
    from service.publish.plans import PLAN_CSV_HEADER

    for header in (AREA_FIELDS, VILLAGE_CSV_HEADER, ZONE_CSV_HEADER, PLAN_CSV_HEADER):
        assert set(header) <= set(COLUMNS), set(header) - set(COLUMNS)
    # Whole people even from a float; a quote in a name doubled; a formula defused.
    text = localized_csv(
        ("name", "population", "covered_share"),
        [['Buôn "Đôn"', 72000.0, 0.964375], ["=1+1", None, None]],
        lang="vi",
    )
    assert text.split("\r\n")[1:3] == ['"Buôn ""Đôn"""' + ";72000;96,4", '"\'=1+1";;']
