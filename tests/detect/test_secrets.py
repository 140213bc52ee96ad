"""detect_secrets: example tables, and precision / recall over the generated corpus."""

from __future__ import annotations

import pytest

from tappass.detect.scan import Scan
from tappass.detect.secrets import detect_secrets
from tests.detect.secrets_corpus import corpus
from tests.detect.secrets_eval import evaluate

GH = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"


# fmt: off
@pytest.mark.parametrize(("text", "kind", "value"), [
    ("AWS_ACCESS_KEY_ID=AKIAQ3EGRJZ5KXYW7TMB", "AWS_ACCESS_KEY", "AKIAQ3EGRJZ5KXYW7TMB"),
    ("aws_secret_access_key = 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", "AWS_SECRET_KEY",
     "k9Zp2vR+u8Qm4TnL0xWc7bHs3YdF6jGe1aKo5iPq"),
    (f"token: {GH}", "GITHUB_TOKEN", GH),
    ("postgres://app:Xk9mQ2vLp7@db.internal:5432/prod", "CONNECTION_STRING", "Xk9mQ2vLp7"),
    ('password = "hunter2x!"', "PASSWORD", "hunter2x!"),
    ('curl -H "Authorization: Bearer 8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c" https://x.test',
     "BEARER_TOKEN", "8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"),
    ("  17  mysql -u root --password Qw7zX9pL2m orders", "PASSWORD", "Qw7zX9pL2m"),
])
# fmt: on
def test_finds_the_secret_and_only_its_span(text: str, kind: str, value: str) -> None:
    [finding] = detect_secrets(text)
    assert (finding.type, text[finding.start:finding.end]) == (kind, value)
    assert value not in finding.explanation


@pytest.mark.parametrize("text", [
    "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "OPENAI_API_KEY=sk-...",
    "api_key = '<YOUR_API_KEY>'",
    "export GITHUB_TOKEN=${GITHUB_TOKEN}",
    "password: changeme",
    "token: xxxxxxxxxxxxxxxxxxxxxxxx",
    "max_tokens: 100, tokens=512, token_type: Bearer",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    '{"request_id": "0b4e3f5a-8c1d-4e2f-9a7b-6c5d4e3f2a1b"}',
    "api_key = os.environ['OPENAI_API_KEY']",
    "DATABASE_URL=postgres://user:password@localhost:5432/mydb",
    "The key risk is the migration timeline; the password policy needs review.",
])
def test_look_alikes_are_not_findings(text: str) -> None:
    assert detect_secrets(text) == []


def test_a_token_split_by_an_invisible_character_is_found_in_the_original() -> None:
    text = f"my token is {GH[:10]}\u200b{GH[10:]} ok"
    [[finding]] = Scan([text]).findings("secrets", detect_secrets)
    assert finding.type == "GITHUB_TOKEN"
    assert text[finding.start:finding.end] == f"{GH[:10]}\u200b{GH[10:]}"


@pytest.mark.parametrize("seed", [20251130, 7])  # the reported corpus, and fresh values
def test_corpus_precision_and_recall_are_at_least_097(seed: int) -> None:
    report = evaluate(corpus(seed))
    print(f"\nseed {seed}\n{report.table()}")
    misses = [m for t in report.by_format.values() for m in t.misses]
    assert report.precision >= 0.97, misses
    assert report.recall >= 0.97, misses
    assert report.expected >= 600 and report.findings >= 600


def test_no_explanation_carries_its_value() -> None:
    for case in corpus():
        for finding in detect_secrets(case.text):
            value = case.text[finding.start or 0:finding.end or 0]
            assert value not in finding.explanation
