"""`tappass scan` and `tappass eval`: offline, JSONL in, JSONL or JSON out."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tappass.cli.main import cli

ROWS = [
    {"id": 1, "text": "mail jo\u200bhn@example.com or call +1 415 555 2671"},
    {"id": "two", "text": "nothing personal here"},
    {"id": 3, "text": "line\u2028separator, IBAN GB82WEST12345698765432"},
]


def jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def test_scan_writes_one_line_per_row_with_offsets_in_the_original() -> None:
    code, out = invoke("scan", "--steps", "detect_pii", input=jsonl(ROWS))
    assert code == 0, out
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == [1, "two", 3]
    assert [line["blocked"] for line in lines] == [True, False, True]
    first = lines[0]["findings"]
    assert [f["type"] for f in first] == ["EMAIL", "PHONE"]
    email = first[0]
    assert ROWS[0]["text"][email["start"]:email["end"]] == "jo\u200bhn@example.com"  # type: ignore[index]
    assert set(email) == {"step", "type", "start", "end", "score"} and email["step"] == "detect_pii"
    iban = lines[2]["findings"][0]
    assert ROWS[2]["text"][iban["start"]:iban["end"]] == "GB82WEST12345698765432"  # type: ignore[index]


def test_scan_reads_a_file_and_a_preset(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl(ROWS[:1]), encoding="utf-8")
    code, out = invoke("scan", "--preset", "regulated", str(path))
    assert code == 0, out
    assert "detect_pii" in {f["step"] for f in json.loads(out)["findings"]}


def test_scan_refuses_bad_input_naming_it() -> None:
    code, out = invoke("scan", "--steps", "rate_limit", input="")
    assert code == 2 and "cannot run offline" in out
    code, out = invoke("scan", input="")
    assert code == 2 and "exactly one of --steps" in out
    code, out = invoke("scan", "--steps", "detect_nothing", input="")
    assert code == 2 and "unknown step 'detect_nothing'" in out
    code, out = invoke("scan", "--steps", "detect_pii", input='{"id": 1}\n')
    assert code == 1 and '<stdin>:1: expected an object with a string "text"' in out


def test_eval_scores_spans_per_type_exact_and_overlap(tmp_path: Path) -> None:
    text = "Mail Ann at ann@example.com from 10.1.2.3"
    rows = [{"text": text, "source": "toy", "spans": [
        {"start": 12, "end": 27, "type": "EMAIL_ADDRESS"},
        {"start": 33, "end": 41, "type": "IP_ADDRESS"},
        {"start": 0, "end": 4, "type": "ORGANIZATION"}]},        # not a product type
        {"text": "call 415 555 2671 now", "spans": [{"start": 5, "end": 11,
                                                     "type": "PHONE_NUMBER"}]}]
    path = tmp_path / "gold.jsonl"
    path.write_text(jsonl(rows), encoding="utf-8")
    code, out = invoke("eval", str(path))
    assert code == 0, out
    report = json.loads(out)
    assert report["rows"] == 2 and report["steps"] == ["detect_pii"]
    scores = report["spans"]["all"]
    assert scores["mapping"]["EMAIL_ADDRESS"] == "EMAIL"
    email = scores["per_type"]["EMAIL"]
    assert email["exact"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    phone = scores["per_type"]["PHONE"]       # gold span is a part of the number
    assert phone["exact"]["recall"] == 0.0 and phone["overlap"]["recall"] == 1.0
    assert "ORGANIZATION" not in scores["per_type"]
    assert report["spans"]["toy"]["per_type"]["IP_ADDRESS"]["gold"] == 1


def test_eval_scores_binary_labels(tmp_path: Path) -> None:
    rows = [{"text": "my email is a@b.io", "label": 1, "source": "s"},
            {"text": "hello there", "label": 0, "source": "s"},
            {"text": "IBAN GB82WEST12345698765432", "label": 0, "source": "t"}]
    path = tmp_path / "labels.jsonl"
    path.write_text(jsonl(rows), encoding="utf-8")
    code, out = invoke("eval", "--steps", "detect_pii", str(path))
    assert code == 0, out
    binary = json.loads(out)["binary"]
    assert (binary["all"]["tp"], binary["all"]["fp"], binary["all"]["tn"]) == (1, 1, 1)
    assert binary["all"]["false_positive_rate"] == 0.5
    assert binary["s"]["precision"] == 1.0 and binary["t"]["fp"] == 1
