"""Train the injection model shipped as src/tappass/detect/injection/injection_model.json.

    .venv/bin/pip install scikit-learn      # training only; the gateway never imports it
    .venv/bin/python scripts/train_injection.py [--data PATH] [--out PATH]

Data: ../shared/eval/injection/dev.jsonl (the dev split only; the held-out halves are never
read). Its rows come from deepset/prompt-injections (Apache-2.0), jackhhao/jailbreak-
classification (Apache-2.0), Microsoft BIPIA (MIT; table and code contexts from
WikiTableQuestions and Stack Exchange, CC BY-SA 4.0; emails from OpenAI Evals, MIT) and
NotInject from InjecGuard (MIT). The shipped file holds only weights of n-gram features.
Next to them the model learns from benign system prompts the project composes itself
(scripts/injection_negatives.py): an agent's own instructions are scanned too.

Reproducible: the solver is deterministic (lbfgs), features are sorted, and the file is
written with sorted keys, so the same data and library versions give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from injection_negatives import rows as negative_rows  # noqa: E402

from tappass.detect.injection.features import Features, features  # noqa: E402
from tappass.detect.injection.model import MODEL_FILE, LinearModel  # noqa: E402
from tappass.detect.injection.rules import build_rules, cue_names, matches  # noqa: E402
from tappass.detect.injection.structure import structure_cues  # noqa: E402
from tappass.detect.normalize import normalize  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "injection" / "dev.jsonl"
DEFAULT_OUT = ROOT / "src" / "tappass" / "detect" / "injection" / MODEL_FILE
C = 30.0            # inverse regularisation strength (chosen by 5-fold CV on the dev split)
PRUNE = 1e-2        # weights smaller than this are dropped from the shipped file
NGRAM_PREFIXES = ("w|", "b|", "c|")
MIN_ROWS = 2        # an n-gram seen in fewer training rows is not a feature (no memorising)
ATTRIBUTION = (
    "Trained on the dev split of: deepset/prompt-injections (Apache-2.0); "
    "jackhhao/jailbreak-classification (Apache-2.0); microsoft/BIPIA (MIT; contexts from "
    "WikiTableQuestions and Stack Exchange, CC BY-SA 4.0, and OpenAI Evals, MIT); "
    "NotInject from SaFoLab-WISC/InjecGuard (MIT); plus benign system prompts written by "
    "the project (scripts/injection_negatives.py).")


def read_rows(path: Path) -> list[dict[str, Any]]:
    # one row per "\n": some texts hold U+2028, which str.splitlines() would split on
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def row_features(rows: Sequence[dict[str, Any]]) -> list[Features]:
    rules = build_rules()
    out = []
    for row in rows:
        text = normalize(row["text"]).text
        names = cue_names(matches(rules, text))
        out.append(features(text, names, structure_cues(text)))
    return out


def _vector(feats: Features, seen: Counter[str]) -> dict[str, float]:
    """The row's feature values minus rare n-grams; the 1/sqrt scale still counts them all,
    as at run time, where an unknown n-gram weighs 0 but counts in the scale."""
    return {name: value for name, value in feats.weighted().items()
            if not name.startswith(NGRAM_PREFIXES) or seen[name] >= MIN_ROWS}


def fit(feats: Sequence[Features], labels: Sequence[int]) -> LinearModel:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    seen = Counter(name for f in feats for name in f.weighted() if name.startswith(NGRAM_PREFIXES))
    vectorizer = DictVectorizer(sort=True)
    matrix = vectorizer.fit_transform([_vector(f, seen) for f in feats])
    model = LogisticRegression(C=C, solver="lbfgs", class_weight="balanced",
                               max_iter=5000, random_state=0)
    model.fit(matrix, list(labels))
    names = vectorizer.get_feature_names_out()
    weights = {str(name): round(float(w), 4) for name, w in zip(names, model.coef_[0],
                                                                strict=True)
               if abs(w) >= PRUNE}
    return LinearModel(weights, round(float(model.intercept_[0]), 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    rows = read_rows(args.data) + negative_rows()
    model = fit(row_features(rows), [int(r["label"]) for r in rows])
    payload = model.to_dict(format=1, trained_rows=len(rows), c=C, attribution=ATTRIBUTION)
    args.out.write_text(json.dumps(payload, sort_keys=True, ensure_ascii=False,
                                   separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(model.weights)} weights) from {len(rows)} rows")


if __name__ == "__main__":
    main()
