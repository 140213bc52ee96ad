"""Optional named-entity recognition with spaCy, used only when installed and enabled.

`TAPPASS_NER_ENABLED=1` turns it on and `TAPPASS_NER_MODEL` names the model
(`xx_ent_wiki_sm` by default, `en_core_web_sm` for English-only deployments). spaCy and the
model are never dependencies of TapPass: when either is missing, a warning says what to
install and detection goes on with the offline name and place lists alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from tappass.pipeline.step import Finding

log = logging.getLogger("tappass.detect")

DEFAULT_MODEL = "xx_ent_wiki_sm"
LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION"}


class SpacyNer:
    def __init__(self, nlp: Any) -> None:
        self._nlp = nlp

    @classmethod
    def from_environment(cls) -> SpacyNer | None:
        """The configured model, or None (with a warning) when spaCy or it is missing."""
        model = os.environ.get("TAPPASS_NER_MODEL", "").strip() or DEFAULT_MODEL
        try:
            import spacy
        except ImportError:
            log.warning("TAPPASS_NER_ENABLED is set but spaCy is not installed; PII names "
                        "and places use the offline lists only (`pip install spacy` and a "
                        "model to add NER)")
            return None
        try:
            nlp = spacy.load(model, disable=["parser", "lemmatizer", "tagger"])
        except OSError:
            log.warning("spaCy model %r (TAPPASS_NER_MODEL) is not installed; PII names and "
                        "places use the offline lists only (`python -m spacy download %s`)",
                        model, model)
            return None
        return cls(nlp)

    def __call__(self, text: str) -> Iterator[Finding]:
        for ent in self._nlp(text).ents:
            kind = LABELS.get(ent.label_)
            if kind is not None:
                yield Finding(kind, ent.start_char, ent.end_char, 0.75, f"NER {ent.label_}")
