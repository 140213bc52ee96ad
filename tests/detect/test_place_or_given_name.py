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
