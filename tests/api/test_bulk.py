"""Stock-count import (CSV/XLSX, dry run, all-or-nothing) and CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from reserve_service.inventory.services import ledger_mismatches
from reserve_service.inventory.tables import Movement, StockLot

HEADER = "depot,item,lot_no,counted_quantity,mode,produced_on,expires_on\n"


def post_csv(client, network, text: str | bytes, query: str = "", role: str = "manager"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(f"/api/v1/stock-counts/import{query}", headers=network.headers(role),
                       data=data, content_type="text/csv")


def quantities(db) -> dict[str, int]:
    return dict(db.execute(select(StockLot.lot_no, StockLot.quantity)).all())


def test_dry_run_reports_differences_and_writes_nothing(client, network, db):
    before = quantities(db)
    text = HEADER + "DEP-A,1010101,LOT-A1,97,,,\nDEP-A,1030101,LOT-W2,500,,,\nDEP-T,1010101,FOUND-1,4,government,2026-01-01,\n"
    response = post_csv(client, network, text, "?dry_run=true")
    assert response.status_code == 200, response.json
    changes = {c["lot_no"]: c for c in response.json["changes"]}
    assert changes["LOT-A1"]["delta"] == -3
    assert changes["FOUND-1"]["new_lot"] is True and changes["FOUND-1"]["delta"] == 4
    assert response.json["unchanged"] == 1
    assert quantities(db) == before


def test_import_books_every_difference_in_one_group(client, network, db):
    text = HEADER + "DEP-A,1010101,LOT-A1,97,,,\nDEP-T,1010101,FOUND-1,4,government,2026-01-01,\n"
    response = post_csv(client, network, text)
    assert response.status_code == 201, response.json
    assert response.json["movements"] == 2
    after = quantities(db)
    assert after["LOT-A1"] == 97 and after["FOUND-1"] == 4
    assert ledger_mismatches(db) == []


def test_one_bad_row_rejects_the_whole_file_listing_every_bad_row(client, network, db):
    before = db.scalar(select(func.count(Movement.id)))
    text = HEADER + ("DEP-A,1010101,LOT-A1,97,,,\n"
                     "DEP-X,1010101,L2,5,,,\n"
                     "DEP-A,1010101,L3,-1,,,\n"
                     "DEP-A,1010101,L4,3,,2026-13-01,\n"
                     "DEP-A,1010101,L5,²,,,\n"
                     "DEP-A,1010101,LOT-A1,98,,,\n"
                     "DEP-A,1010101,L6,10000000000000000000000000,,,\n")
    response = post_csv(client, network, text)
    assert response.status_code == 422
    bad = {(r["row"], r["field"]) for r in response.json["rows"]}
    assert bad == {(3, "depot"), (4, "counted_quantity"), (5, "produced_on"), (6, "counted_quantity"),
                   (7, "lot_no"), (8, "counted_quantity")}
    assert "row 3.depot" in response.json["errors"]
    assert db.scalar(select(func.count(Movement.id))) == before


def test_wrong_encoding_and_bad_header_are_422_on_file(client, network):
    gbk = (HEADER + "DEP-A,1010101,批次一,5,,,\n").encode("gbk")
    response = post_csv(client, network, gbk)
    assert response.status_code == 422 and "file" in response.json["errors"]
    assert "gb18030" in response.json["errors"]["file"][0]
    ok = post_csv(client, network, gbk, "?encoding=gb18030&dry_run=true")
    assert ok.status_code == 200 and ok.json["changes"][0]["lot_no"] == "批次一"
    header = post_csv(client, network, "depot,item,qty\nDEP-A,1010101,4\n")
    assert header.status_code == 422 and "lot_no" in header.json["errors"]["file"][0]
    empty = post_csv(client, network, b"")
    assert empty.status_code == 422


def test_xlsx_upload(client, network, db):
    book = Workbook()
    sheet = book.active
    sheet.append(["depot", "item", "lot_no", "counted_quantity"])
    sheet.append(["DEP-A", "1010101", "LOT-A1", 90])
    raw = io.BytesIO()
    book.save(raw)
    response = client.post("/api/v1/stock-counts/import", headers=network.headers("manager"),
                           data={"file": (io.BytesIO(raw.getvalue()), "count.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    assert quantities(db)["LOT-A1"] == 90
    broken = client.post("/api/v1/stock-counts/import", headers=network.headers("manager"),
                         data={"file": (io.BytesIO(b"PK\x03\x04garbage"), "count.xlsx")},
                         content_type="multipart/form-data")
    assert broken.status_code == 422 and "file" in broken.json["errors"]


def test_export_is_csv_of_every_lot(client, network):
    response = client.get("/api/v1/stock/export.csv?depot=DEP-A", headers=network.headers("viewer"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert {r["lot_no"]: int(r["counted_quantity"]) for r in rows} == {"LOT-A1": 100, "LOT-W1": 1000,
                                                                       "LOT-W2": 500}


def test_csv_export_imports_back_and_an_edited_export_books_the_edits(client, network, db):
    exported = client.get("/api/v1/stock/export.csv?depot=DEP-A", headers=network.headers("viewer")).data
    same = post_csv(client, network, exported, "?dry_run=true")
    assert same.status_code == 200, same.json
    assert same.json["changed"] == 0 and same.json["unchanged"] == 3
    text = exported.decode("utf-8-sig").replace("LOT-A1,government,100", "LOT-A1,government,96")
    edited = post_csv(client, network, text)
    assert edited.status_code == 201, edited.json
    assert edited.json["movements"] == 1 and quantities(db)["LOT-A1"] == 96


def test_xlsx_export_imports_back(client, network, db):
    exported = client.get("/api/v1/stock/export.xlsx?depot=DEP-A", headers=network.headers("viewer"))
    assert exported.status_code == 200 and exported.mimetype.endswith("spreadsheetml.sheet")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(exported.data))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header[:8] == ["depot", "depot_name", "item", "item_name", "unit", "lot_no", "mode",
                          "counted_quantity"]
    for row in sheet.iter_rows(min_row=2):
        if row[5].value == "LOT-W2":
            row[7].value = 480
    raw = io.BytesIO()
    book.save(raw)
    response = client.post("/api/v1/stock-counts/import", headers=network.headers("manager"),
                           data={"file": (io.BytesIO(raw.getvalue()), "stock.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    assert response.json["changed"] == 1 and response.json["unchanged"] == 2
    assert quantities(db)["LOT-W2"] == 480 and ledger_mismatches(db) == []


def test_the_report_is_computed_before_booking(client, network, db):
    """Three lots counted differently: three changes reported (not one change, two unchanged)."""
    text = HEADER + "DEP-A,1010101,LOT-A1,99,,,\nDEP-A,1030101,LOT-W1,999,,,\nDEP-A,1030101,LOT-W2,499,,,\n"
    response = post_csv(client, network, text)
    assert response.status_code == 201
    assert response.json["changed"] == 3 and response.json["unchanged"] == 0
    assert [c["delta"] for c in response.json["changes"]] == [-1, -1, -1]
    assert response.json["movements"] == 3 and ledger_mismatches(db) == []


@pytest.mark.parametrize("role", ["viewer", "planner", "dispatcher"])
def test_roles_that_may_not_book_stock_get_403_before_the_file_is_read(client, network, role):
    response = post_csv(client, network, b"not even a csv \xff", role=role)
    assert response.status_code == 403 and response.content_type == "application/problem+json"


def test_a_manager_counting_a_depot_outside_its_scope_gets_403(client, network, db):
    before = quantities(db)
    response = post_csv(client, network, HEADER + "DEP-A,1010101,LOT-A1,97,,,\nDEP-B,1010101,L5,3,,,\n")
    assert response.status_code == 403 and "DEP-B" in response.json["detail"]
    assert quantities(db) == before


def test_a_count_beyond_capacity_is_409_and_only_an_admin_may_force_it(client, network, db):
    text = HEADER + "DEP-A,1010101,LOT-A1,1000000000000,,,\n"
    assert post_csv(client, network, text).status_code == 409
    assert post_csv(client, network, text, "?force=true").status_code == 403
    assert quantities(db)["LOT-A1"] == 100
    forced = post_csv(client, network, HEADER + "DEP-A,1010101,LOT-A1,1000,,,\n", "?force=true", role="admin")
    assert forced.status_code == 201 and quantities(db)["LOT-A1"] == 1000
