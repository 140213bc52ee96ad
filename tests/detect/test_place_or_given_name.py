"""A word that is both a known place and a given name: the context decides."""

from __future__ import annotations

import pytest

from tappass.detect.names import NameFinder


@pytest.mark.parametrize(("text", "kind"), [
    ("What is the weather in Paris?", "LOCATION"),
    ('{"city":"Paris"}', "LOCATION"),
    ("destination: Austin", "LOCATION"),
    ("I met Paris yesterday at the office.", "PERSON"),
    ("Paris Hilton arrived late.", "PERSON"),
    ("I'm so jealous! said Gladys to Logan", "PERSON"),
])
def test_place_or_given_name(text: str, kind: str) -> None:
    found = [f for f in NameFinder()(text) if f.type in {"LOCATION", "PERSON"}]
    assert found, text
    assert found[-1].type == kind


@pytest.mark.parametrize("hex8", ["90549127", "02145104", "3f9a2c1d"])
def test_nothing_inside_a_pii_token_is_personal_data(hex8: str) -> None:
    from tappass.detect.pii import PiiDetector

    text = f'{{"to": "[TOKEN_EMAIL_{hex8}]", "body": "Hi [TOKEN_PERSON_{hex8}], call 555-0100"}}'
    found = PiiDetector()(text)
    assert not [f for f in found if "TOKEN" in text[f.start or 0:f.end or 0]]
