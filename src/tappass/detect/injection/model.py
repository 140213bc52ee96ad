"""The linear injection model: logistic regression weights over `features`.

Pure Python at run time (a dict lookup per feature, linear in the text's length); the
weights are package data written by scripts/train_injection.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from importlib import resources
from itertools import repeat
from typing import Any

from tappass.detect.injection.features import (
    KINDS,
    Features,
    cues,
    fast_grams,
    features,
    quad_key,
)

MODEL_FILE = "injection_model.json"


@dataclass(frozen=True, slots=True)
class LinearModel:
    weights: dict[str, float]          # "kind|feature" -> weight, as trained and stored
    bias: float
    _by_kind: tuple[dict[str, float], ...] = field(init=False, repr=False, compare=False)
    # the bigram and 4-gram weights again, keyed as `fast_grams` keys them
    _pairs: dict[tuple[str, str], float] = field(init=False, repr=False, compare=False)
    _quads: dict[int, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_kind: dict[str, dict[str, float]] = {kind: {} for kind in (*KINDS, "cue")}
        for name, weight in self.weights.items():
            kind, _, gram = name.partition("|")
            if kind in KINDS:
                by_kind[kind][gram] = weight
            else:
                by_kind["cue"][name] = weight
        object.__setattr__(self, "_by_kind", tuple(by_kind.values()))
        pairs = {tuple(gram.split(" ")): w for gram, w in by_kind["b"].items()}
        object.__setattr__(self, "_pairs", {k: w for k, w in pairs.items() if len(k) == 2})
        object.__setattr__(self, "_quads", {quad_key(gram): w for gram, w in by_kind["c"].items()
                                            if len(gram) == 4 and _latin1(gram)})

    def text_probability(self, text: str, rule_names: Iterable[str],
                         structure: Iterable[str]) -> float:
        """`probability(features(text, rule_names, structure))`, computed with cheaper keys."""
        grams = fast_grams(text)
        if grams is None:
            return self.probability(features(text, rule_names, structure))
        words, _, _, cue_weights = self._by_kind
        total = (_sum(words, grams.words) + _sum(self._pairs, grams.pairs)
                 + _sum(self._quads, grams.quads))
        if grams.size:
            total /= grams.size ** 0.5
        return _sigmoid(self.bias + total + _sum(cue_weights, cues(rule_names, structure)))

    def probability(self, feats: Features) -> float:
        words, bigrams, chars, cue_weights = self._by_kind
        total = (_sum(words, feats.words) + _sum(bigrams, feats.bigrams)
                 + _sum(chars, feats.chars))
        if feats.size:
            total /= feats.size ** 0.5
        return _sigmoid(self.bias + total + _sum(cue_weights, feats.cues))

    def contributions(self, cue_names: Iterable[str]) -> list[tuple[str, float]]:
        """The cue features (`Features.cues`) that pushed the score up, strongest first (for
        explanations)."""
        found = [(f, self.weights.get(f, 0.0)) for f in cue_names]
        return sorted((item for item in found if item[1] > 0), key=lambda x: -x[1])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearModel:
        weights = data.get("weights")
        bias = data.get("bias")
        if not isinstance(weights, dict) or not isinstance(bias, (int, float)):
            raise ValueError("injection model file needs 'weights' (object) and 'bias' (number);"
                             " regenerate it with scripts/train_injection.py")
        return cls({str(k): float(v) for k, v in weights.items()}, float(bias))

    def to_dict(self, **meta: Any) -> dict[str, Any]:
        return {**meta, "bias": self.bias, "weights": self.weights}


def _sum(weights: Mapping[Any, float], grams: AbstractSet[Any]) -> float:
    # one pass in C: dict.get(gram, 0.0) for every gram (unknown grams weigh 0)
    return sum(map(weights.get, grams, repeat(0.0)))


def _latin1(gram: str) -> bool:
    return all(ord(char) < 256 for char in gram)


def _sigmoid(x: float) -> float:
    if x < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def load_packaged() -> LinearModel:
    """The model shipped with the package (read once by the cached detector loader)."""
    text = resources.files("tappass.detect.injection").joinpath(MODEL_FILE).read_text("utf-8")
    return LinearModel.from_dict(json.loads(text))
