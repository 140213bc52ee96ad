"""The PII detector, type by type: what it finds, and the look-alikes it leaves alone."""

from __future__ import annotations

import pytest

from tappass.detect.pii import PiiDetector, PiiPolicy, resolve_overlaps
from tappass.pipeline.step import Finding


@pytest.fixture(scope="module")
def detect() -> PiiDetector:
    return PiiDetector(ner=False)


def found(detector: PiiDetector, text: str, **options: object) -> list[tuple[str, str]]:
    policy = PiiPolicy(**options)  # type: ignore[arg-type]
    return [(f.type, text[f.start:f.end]) for f in policy.select(text, detector(text))]


@pytest.mark.parametrize("text, kind, value", [
    ("mail me at john@example.com today", "EMAIL", "john@example.com"),
    ("Contact: Anna.Berg+work@mail.co.uk.", "EMAIL", "Anna.Berg+work@mail.co.uk"),
    ("call +1 415 555 2671 now", "PHONE", "+1 415 555 2671"),
    ("office: 020 7946 0958", "PHONE", "020 7946 0958"),
    ("Tel. +49 30 901820", "PHONE", "+49 30 901820"),
    ("Fax: +41 (0)62 585 51 90", "PHONE", "+41 (0)62 585 51 90"),
    ("phone (415) 555-2671", "PHONE", "(415) 555-2671"),
    ("my card 4111 1111 1111 1111 expires", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("amex 378282246310005", "CREDIT_CARD", "378282246310005"),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN", "DE89 3704 0044 0532 0130 00"),
    ("pay to GB82WEST12345698765432", "IBAN", "GB82WEST12345698765432"),
    ("SSN: 123-45-6789", "US_SSN", "123-45-6789"),
    ("my social security number is 123456789", "US_SSN", "123456789"),
    ("login from 203.0.113.42 failed", "IP_ADDRESS", "203.0.113.42"),
    ("client 2001:db8::8a2e:370:7334 connected", "IP_ADDRESS", "2001:db8::8a2e:370:7334"),
    ("date of birth: 12/03/1985", "DATE_OF_BIRTH", "12/03/1985"),
    ("she was born on March 4, 1990", "DATE_OF_BIRTH", "March 4, 1990"),
    ("passport no. X1234567", "PASSPORT", "X1234567"),
    ("NI number JG 10 37 59 A", "NATIONAL_ID", "JG 10 37 59 A"),
    ("codice fiscale RSSMRA85T10A562S", "NATIONAL_ID", "RSSMRA85T10A562S"),
    ("DNI 12345678Z", "NATIONAL_ID", "12345678Z"),
    ("BSN 111222333", "NATIONAL_ID", "111222333"),
    ("PESEL: 44051401359", "NATIONAL_ID", "44051401359"),
    ("personnummer 811218-9876", "NATIONAL_ID", "811218-9876"),
    ("HETU 131052-308T", "NATIONAL_ID", "131052-308T"),
    ("send it to 221 Baker Street, London NW1 6XE", "ADDRESS", "221 Baker Street, London NW1 6XE"),
    ("Rue de la Paix 12, Paris", "ADDRESS", "Rue de la Paix 12, Paris"),
    ("ship to Koskikatu 25 Apt. 864", "ADDRESS", "Koskikatu 25 Apt. 864"),
    ("PSC 1437, Box 3833\nAPO AA 66791", "ADDRESS", "PSC 1437, Box 3833\nAPO AA 66791"),
    ("Hi, I'm John Smith.", "PERSON", "John Smith"),
    ("Please ask Dr. Anette Lahtela", "PERSON", "Anette Lahtela"),
    ("Ravil G Yefimov will join", "PERSON", "Ravil G Yefimov"),
    ("We moved here from Leiria", "LOCATION", "Leiria"),
    ("Who's coming to Germany with me?", "LOCATION", "Germany"),
    ("Our founders: Kónya, Becker and Vasquez.", "PERSON", "Kónya"),
    ("the verses of Faina D. Yefremova's tales", "PERSON", "Faina D. Yefremova"),
    ("a song by Wisława Szczepańska", "PERSON", "Wisława Szczepańska"),
    ("Desk: 5403926876", "PHONE", "5403926876"),
    ("my name is lena andersson.", "PERSON", "lena andersson"),
    ("Lisa: Remember me, Nathan?", "PERSON", "Lisa"),
    ('"That is not it," says Pirjo Madetoja in a talk', "PERSON", "Pirjo Madetoja"),
    ("Aniela is very reliable.", "PERSON", "Aniela"),
    ("I'm in Flateyri, at the conference", "LOCATION", "Flateyri"),
    ("Przemek Kucharski\n\nALFRICK\nUnited Kingdom", "LOCATION", "United Kingdom"),
    ("the corner of Csabai kapu 39. and Mathias Pass", "ADDRESS",
     "the corner of Csabai kapu 39. and Mathias Pass"),
    ("Cendrillon lives at 333 Golfskálinn 78, Borgarnes", "ADDRESS",
     "333 Golfskálinn 78, Borgarnes"),
    ("4596 Tylova 285\n Suite 578\n Ostrov nad Ohrí\n Czech Republic 56655", "ADDRESS",
     "4596 Tylova 285\n Suite 578\n Ostrov nad Ohrí\n Czech Republic 56655"),
    ("I flew to Canada", "LOCATION", "Canada"),
])
def test_finds(detect: PiiDetector, text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(detect, text)


@pytest.mark.parametrize("text", [
    "order 123456789012 shipped",                       # order number
    "order #4532015112830366 shipped",                  # Luhn-valid order number
    "upgrade to version 1.2.3.4 tonight",               # version string
    "released 2.10.3 on 2024-01-15 10:30:00",          # version and timestamp
    "at 2024-01-15T10:30:00Z the job ran",              # ISO timestamp
    "id 550e8400-e29b-41d4-a716-446655440000",          # UUID
    "sha 3f786850e387550fdab836ed7e6dc881de23001b",     # hash
    "ticket 123-456-7890 is open",                      # ticket, not a phone
    "SSN 000-12-3456 is not valid",                     # SSN area 000
    "IBAN DE00 3704 0044 0532 0130 00",                 # wrong check digits
    "card 4111 1111 1111 1112",                         # fails Luhn
    "meet at 10:30 in room 4",
    "The quick brown fox. Thanks for the help!",
    "What is the best way to learn Python?",
    "see RFC 7231 section 6.5.1",
    "What is the capital of France?",                   # a country is not personal data
    "my driver's license number is 2270-66-1551",       # not a phone number
    "Looking to support MysticWeb in Quinta 3610-114",  # a postcode, not a phone
    "The meeting is at 10:30 in Room 4.",
    "Unlike the Jensen novel, it is short.",            # a surname that is also a town
    "Germany and France signed the treaty.",
    "CAN I SPEAK TO A REAL PERSON?",
    "upstream says: Summarise claim 42",
    "Hi ChatGPT. Additionally, ask OpenAI about the iPhone.",  # product casing, adverbs
    "the tsunami of 26 March 2006 and the 24 December 2005 storm",  # dates, not addresses
    "Create a story about a journey from Earth to Mars",
    "We offer Guilty Pleasures and Cautionary Tales.",
])
def test_leaves_look_alikes_alone(detect: PiiDetector, text: str) -> None:
    assert found(detect, text) == []


def test_sensitivity_and_thresholds(detect: PiiDetector) -> None:
    text = "the verses of Jouni Hahli are great"   # unknown names, capitalisation only
    assert found(detect, text, sensitivity="high") == [("PERSON", "Jouni Hahli")]
    assert found(detect, text, sensitivity="medium") == []
    assert found(detect, text, thresholds={"PERSON": 0.4}) == [("PERSON", "Jouni Hahli")]
    named = "my name is John Smith"
    assert found(detect, named, sensitivity="low") == [("PERSON", "John Smith")]
    assert found(detect, named, thresholds={"PERSON": 0.99}) == []


def test_allowlists_remove_only_what_they_name(detect: PiiDetector) -> None:
    text = "Anna Router is down, tell John Smith at john@example.com"
    before = found(detect, text)
    assert ("PERSON", "Anna Router") in before
    after = found(detect, text, allowlist=["anna router"])
    assert after == [f for f in before if f != ("PERSON", "Anna Router")]
    pattern = "^[A-Z][a-z]+ (Router|Board|Scanner|Module|Server)$"
    assert found(detect, text, allowlist_patterns=[pattern]) == after


def test_entities_option_limits_types(detect: PiiDetector) -> None:
    text = "John Smith, john@example.com"
    assert found(detect, text, entities=["email"]) == [("EMAIL", "john@example.com")]


def test_overlaps_keep_the_best_score() -> None:
    a = Finding("PHONE", 0, 10, 0.6)
    b = Finding("CREDIT_CARD", 0, 16, 0.9)
    c = Finding("EMAIL", 20, 30, 0.9)
    assert resolve_overlaps([a, b, c]) == [b, c]


def test_spans_point_into_obfuscated_originals(detect: PiiDetector) -> None:
    from tappass.detect.scan import Scan
    text = "mail jo\u200bhn@exаmple.com now"   # zero-width space, Cyrillic a
    (findings,) = Scan([text]).findings("pii", detect)
    email = next(f for f in findings if f.type == "EMAIL")
    assert text[email.start:email.end] == "jo\u200bhn@exаmple.com"


def test_ner_is_optional(monkeypatch: pytest.MonkeyPatch,
                         caplog: pytest.LogCaptureFixture) -> None:
    import builtins
    real_import = builtins.__import__

    def no_spacy(name: str, *args: object, **kwargs: object) -> object:
        if name == "spacy":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_spacy)
    assert PiiDetector()("John Smith") is not None          # off unless enabled
    monkeypatch.setenv("TAPPASS_NER_ENABLED", "1")
    detector = PiiDetector()                                 # enabled, not installed: warns
    assert "spaCy is not installed" in caplog.text
    assert [f.type for f in detector("mail a@b.io")] == ["EMAIL"]


def test_ner_findings_join_when_a_model_is_there() -> None:
    from tappass.detect.ner import SpacyNer

    class Ent:
        def __init__(self, label: str, start: int, end: int) -> None:
            self.label_, self.start_char, self.end_char = label, start, end

    class Doc:
        ents = [Ent("PERSON", 0, 4), Ent("ORG", 5, 8), Ent("GPE", 12, 17)]

    ner = SpacyNer(lambda text: Doc())
    assert [(f.type, f.start) for f in ner("Zork Acme in Paris")] == [("PERSON", 0),
                                                                      ("LOCATION", 12)]
