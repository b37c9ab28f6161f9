import json

import pytest

from flows.files import read_catalog
from tasks.catalog.entries import CatalogFormatError, api_id_for, parse_catalog


def test_public_apis_readme_format(fixtures):
    r = read_catalog(fixtures / "public_apis_sample.md")
    names = sorted(e.name for e in r.entries)
    assert names == ["Bird Calls", "Fox Pictures", "Rain Radar", "Wind Now"]
    fox = next(e for e in r.entries if e.name == "Fox Pictures")
    assert fox.category == "Animals" and fox.merged_count == 2 and fox.auth == "none" and fox.https is True
    bird = next(e for e in r.entries if e.name == "Bird Calls")
    assert bird.auth == "apiKey" and bird.cors == "no"  # the stray trailing cell is ignored
    rain = next(e for e in r.entries if e.name == "Rain Radar")
    assert "pipe | in" in rain.description and rain.https is False and rain.category == "Weather"
    assert r.duplicates_merged == 1
    reasons = {(q.reason, q.locator) for q in r.quarantined}
    assert {q.reason for q in r.quarantined} == {"unknown_columns", "empty_description", "malformed_row"}
    assert sum(1 for q in r.quarantined if q.reason == "malformed_row") == 2  # no link cell; too many cells
    assert all(loc.startswith("line ") for _, loc in reasons)
    assert r.rows_read == len(r.entries) + r.duplicates_merged + len(r.quarantined)


def test_toolalpaca_json_format(fixtures):
    r = read_catalog(fixtures / "toolalpaca_catalog.json")
    assert [e.name for e in r.entries] == ["Moon Phases", "Prime Checker"]
    moon = r.entries[0]
    assert moon.merged_count == 2 and moon.description == "Phase of the moon for any date"
    assert moon.auth == "none" and moon.category == "Science & Math"
    assert r.entries[1].https is False and r.entries[1].auth == "apiKey"
    assert r.reasons() == {"malformed_row": 1, "missing_name": 1, "unknown_columns": 1}
    unknown = next(q for q in r.quarantined if q.reason == "unknown_columns")
    assert "Rating" in unknown.detail and "Quote Shelf" in unknown.raw


def test_bare_list_json_is_accepted():
    data = json.dumps([{"name": "A", "description": "d", "category": "C"}]).encode()
    assert [e.name for e in parse_catalog(data, "json").entries] == ["A"]


def test_csv_format(fixtures):
    r = read_catalog(fixtures / "catalog.csv")
    assert [e.name for e in r.entries] == ["Paper Sizes", "Color Names"]
    assert r.reasons() == {"empty_description": 1, "missing_name": 1}
    assert r.quarantined[0].locator.startswith("row ")


def test_jsonl_bad_rows_are_quarantined_and_the_rest_proceed():
    lines = [
        json.dumps({"name": "Good", "description": "fine", "category": "X", "link": "https://good.example"}),
        "{not json",
        json.dumps({"name": "Huge", "description": "x" * 1_000_000, "category": "X"}),
        json.dumps({"name": "  ", "description": "blank name", "category": "X"}),
        json.dumps({"name": "Extra", "description": "has a column we do not know", "colour": "red"}),
        json.dumps({"name": "NoCat", "description": "no category given"}),
        "",
    ]
    data = "\n".join(lines).encode() + b"\n" + b'{"name": "Bad\xff", "description": "bytes", "category": "X"}\n'
    r = parse_catalog(data, "jsonl", source="mixed.jsonl")
    assert sorted(e.name for e in r.entries) == ["Good", "NoCat"]
    assert next(e for e in r.entries if e.name == "NoCat").category == "Uncategorized"
    assert r.reasons() == {"bad_utf8": 1, "description_too_long": 1, "malformed_row": 1, "missing_name": 1, "unknown_columns": 1}
    huge = next(q for q in r.quarantined if q.reason == "description_too_long")
    assert len(huge.raw) <= 4000 and "1000000" in huge.detail


def test_dedup_by_normalised_name_and_link():
    rows = [
        {"name": "Cat Facts", "description": "one", "category": "Animals", "link": "https://catfact.ninja/"},
        {"name": "cat-facts", "description": "two", "category": "Animals", "link": "HTTPS://CatFact.ninja"},
        {"name": "Cat Facts", "description": "three", "category": "Animals", "link": "https://other.example"},
    ]
    r = parse_catalog("\n".join(json.dumps(x) for x in rows).encode(), "jsonl")
    assert len(r.entries) == 2 and r.entries[0].merged_count == 2
    assert api_id_for("Cat Facts", "https://catfact.ninja/") == api_id_for("cat-facts", "http://catfact.ninja")


def test_unreadable_files_raise_a_format_error(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{nope")
    with pytest.raises(CatalogFormatError, match="not valid JSON"):
        read_catalog(bad)
    with pytest.raises(CatalogFormatError, match="unknown catalog format"):
        read_catalog(tmp_path / "x.txt")
    with pytest.raises(CatalogFormatError, match="cannot read"):
        read_catalog(tmp_path / "missing.csv")
    nohead = tmp_path / "c.csv"
    nohead.write_text("foo,bar\n1,2\n")
    with pytest.raises(CatalogFormatError, match="no name column"):
        read_catalog(nohead)


def test_sample_catalog_is_large_and_varied():
    from flows.catalog_import import sample_catalog_path

    r = read_catalog(sample_catalog_path())
    assert len(r.entries) >= 30 and not r.quarantined
    assert len({e.category for e in r.entries}) >= 8


def test_control_characters_are_stripped_and_links_kept_only_as_http():
    from tasks.catalog.entries import parse_catalog

    rows = [{"name": "Ev\x00il\x1b[31m API\u202e", "description": "Does\x07 things\x00.", "category": "Te\x00st",
             "link": "javascript:alert(1)"},
            {"name": "Files", "description": "Reads files.", "category": "Test", "link": "file:///etc/passwd"},
            {"name": "Good", "description": "Good one.", "category": "Test", "link": "https://good.example/v1"},
            {"name": "Data", "description": "Data URL.", "category": "Test", "link": "data:text/html,<b>x</b>"}]
    result = parse_catalog("\n".join(json.dumps(r) for r in rows).encode(), "jsonl")
    by_name = {e.name: e for e in result.entries}
    assert set(by_name) == {"Evil[31m API", "Files", "Good", "Data"}
    assert by_name["Evil[31m API"].description == "Does things." and by_name["Evil[31m API"].category == "Test"
    assert [by_name[n].link for n in ("Evil[31m API", "Files", "Data")] == ["", "", ""]
    assert by_name["Good"].link == "https://good.example/v1"
    assert not any(ch in json.dumps([e.to_dict() for e in result.entries], ensure_ascii=False) for ch in "\x00\x1b\u202e")
