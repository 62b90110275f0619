"""Batches: what a caller sends is refused cleanly, and what the business downloads is safe to open."""
import csv
import io

from linx_core.store.models import Batch, BatchEntry

from .test_batches import errors, expand, send
from .test_templates import make

CSV_QUERY = "?templateName=rebate-payout"


def test_a_nul_or_a_control_character_in_a_csv_cell_is_refused_whole(rt, api):
    make(api)
    title = send(api, "phoneNumber,amount,title\n+16475550011,1,Bad\x00title\n", content_type="text/csv",
                 query=CSV_QUERY)
    assert title.status_code == 400, title.get_json()
    assert ("row[2].title", "INVALID_TYPE") in errors(title)
    escape = send(api, "phoneNumber,amount,title\n+16475550011,1,Bad\x1b[31m\n", content_type="text/csv",
                  query=CSV_QUERY, key="batch-key-0002")
    assert escape.status_code == 400 and ("row[2].title", "INVALID_TYPE") in errors(escape)
    param = send(api, "phoneNumber,amount\n+16475550011,1\x00\n", content_type="text/csv", query=CSV_QUERY,
                 key="batch-key-0003")
    assert param.status_code == 400 and ("row[2].amount", "INVALID_TEXT") in errors(param)
    json_title = send(api, {"templateName": "rebate-payout", "entries": [
        {"title": "two\nlines", "parameters": {"phoneNumber": "+16475550011", "amount": "1"}}]}, key="batch-key-0004")
    assert json_title.status_code == 400 and ("entries[0].title", "INVALID_TYPE") in errors(json_title)
    assert Batch.select().count() == 0 and BatchEntry.select().count() == 0


def test_a_csv_with_a_utf8_byte_order_mark_is_read(rt, api):
    make(api)
    body = "\ufeffexternalId,phoneNumber,amount\nx1,+16475550011,1\n".encode()
    response = send(api, body, content_type="text/csv", query=CSV_QUERY)
    assert response.status_code == 202, response.get_json()
    assert [e.external_id for e in BatchEntry.select()] == ["x1"]


def test_the_passcode_download_never_holds_a_formula(rt, api):
    make(api, passcode=True)
    risky = ["=HYPERLINK(\"http://x\")", "+1+2", "-3", "@SUM(A1)", "plain"]
    batch = send(api, {"templateName": "rebate-payout", "entries": [
        {"externalId": e, "parameters": {"phoneNumber": f"+164755500{i:02d}", "amount": "1"}}
        for i, e in enumerate(risky)]}).get_json()
    expand(rt)
    response = api.get(f"/v2/linx/batches/{batch['id']}/passcodes")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["externalId"] for r in rows] == ["'" + e for e in risky[:4]] + ["plain"]
    assert all(cell[:1] not in "=+-@\t\r" for r in rows for cell in r.values() if cell)


def test_the_413_names_the_routes_own_limit(rt, api):
    make(api)
    huge = "phoneNumber\n" + "+16475550011\n" * (17 * 1024 * 1024 // 13)
    response = send(api, huge, content_type="text/csv", query=CSV_QUERY)
    assert response.status_code == 413
    assert str(16 * 1024 * 1024) in response.get_json()["message"]
    assert str(rt.settings.max_body_bytes) not in response.get_json()["message"]


def test_a_row_number_is_the_line_its_record_starts_on(rt, api):
    make(api)
    text = ('externalId,phoneNumber,amount,title\nx1,+16475550011,1,"two\nline title"\n'
            'x2,+16475550012,1\n')
    response = send(api, text, content_type="text/csv", query=CSV_QUERY)
    assert response.status_code == 400
    assert ("row[4]", "ROW_LENGTH") in errors(response)  # x2 starts on line 4 (its record ends there too)
    text = 'externalId,phoneNumber,amount\nx1,+16475550011,"1\n\n"\nx2,+16475550012,1\n'
    response = send(api, text, content_type="text/csv", query=CSV_QUERY, key="batch-key-0002")
    assert response.status_code == 202, response.get_json()
    assert [e.position for e in BatchEntry.select().order_by(BatchEntry.position)] == [2, 5]


