"""detect_business_data and detect_infrastructure: example tables."""

from __future__ import annotations

import pytest

from tappass.detect.business import business_detector, detect_business_data
from tappass.detect.infrastructure import detect_infrastructure, infrastructure_detector


def spans(findings: list, text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start:f.end]) for f in findings]


# fmt: off
@pytest.mark.parametrize(("text", "expected"), [
    ("Here are the salary figures: John $150k", [("SALARY", "$150k")]),
    ("Q3 revenue came in at $4.2M, ahead of guidance.", [("FINANCIAL_FIGURE", "$4.2M")]),
    ("We now have 1,240 paying customers and churn is 3.1%.",
     [("CUSTOMER_COUNT", "1,240 paying customers"), ("FINANCIAL_METRIC", "churn is 3.1%")]),
    ("Attached the term sheet.", [("DEAL_TERMS", "term sheet")]),
    ("Please summarise the Board Minutes from Tuesday.", [("BOARD_MATERIAL", "Board Minutes")]),
    ("STRICTLY CONFIDENTIAL - do not forward", [("CONFIDENTIAL_MARKING", "STRICTLY CONFIDENTIAL")]),
    ("The train ticket cost €40 and the coffee $4.", []),
    ("Onboarding: the dashboard keyboard shortcuts are on the board.", []),
])
# fmt: on
def test_business_data(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(detect_business_data(text), text) == expected


def test_business_keywords_are_whole_words_case_insensitive() -> None:
    detect = business_detector(("project falcon",))
    assert spans(detect("Status of Project Falcon?"), "Status of Project Falcon?") == [
        ("BUSINESS_KEYWORD", "Project Falcon")]
    assert detect("project falconry") == []


# fmt: off
@pytest.mark.parametrize(("text", "expected"), [
    ("ssh 10.0.3.17 then 172.20.1.5 and 192.168.1.0/24",
     [("PRIVATE_IP", "10.0.3.17"), ("PRIVATE_IP", "172.20.1.5"), ("PRIVATE_IP", "192.168.1.0/24")]),
    ("curl http://billing.svc.cluster.local:8080/health",
     [("INTERNAL_HOSTNAME", "billing.svc.cluster.local")]),
    ("db at orders.c9akciq32.eu-west-1.rds.amazonaws.com",
     [("INTERNAL_HOSTNAME", "orders.c9akciq32.eu-west-1.rds.amazonaws.com")]),
    ("role arn:aws:iam::123456789012:role/deploy on i-0abc1234def567890",
     [("CLOUD_ARN", "arn:aws:iam::123456789012:role/deploy"),
      ("CLOUD_RESOURCE_ID", "i-0abc1234def567890")]),
    ("apiVersion: apps/v1\nkind: Deployment\n", [("KUBERNETES_OBJECT", "kind: Deployment")]),
    ("DATABASE_URL=postgres://app@db.internal:5432/orders",
     [("CONNECTION_STRING", "postgres://app@db.internal:5432/orders")]),
    ("Public 8.8.8.8, example.com, localhost 127.0.0.1, version 1.2.3.4.5, 999.1.1.1", []),
])
# fmt: on
def test_infrastructure(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(detect_infrastructure(text), text) == expected


def test_internal_domains_match_subdomains_only() -> None:
    detect = infrastructure_detector(("acme.io",))
    text = "jenkins.build.acme.io, not acme.io.evil.com"
    assert spans(detect(text), text) == [("INTERNAL_HOSTNAME", "jenkins.build.acme.io")]
    assert detect_infrastructure(text) == []
