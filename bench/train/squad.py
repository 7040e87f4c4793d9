"""SQuAD: examples, the article split used here, span features, answer decoding and EM/F1.

**Protocol.** The reference data holds only the SQuAD v1.1 *dev* set
(``squad/dev-v1.1.json``, 48 articles, 10,570 questions), no training set. The span head
is therefore trained on 36 of the dev set's articles and evaluated on the other 12
(:func:`split_articles`: a fixed permutation of the article titles seeded by
:data:`SPLIT_SEED`, independent of the run seed, so every model sees the same split).
Result rows label the split ``dev-heldout-articles``; the numbers are *not* the paper's
dev-set numbers, which train on the 87,599 training questions and evaluate on all 48
articles. Training uses each question's first gold answer; evaluation scores against all
of them. SQuAD v2.0 is scored the same way when its data exists (unanswerable questions
have no gold answer and count as correct for an empty prediction, as in the official v2.0
script); it is not part of the reference data, so it is reported as missing here.

**Features.** A question (cut to ``max_query_len`` tokens) and its context form
``[CLS] question [SEP] context [SEP]``; contexts longer than the window are split into
overlapping windows (``doc_stride`` tokens of overlap, the fast tokenizer's
``return_overflowing_tokens``). A training window whose context does not contain the
answer points at ``[CLS]`` (position 0), as in BERT.

**Decoding** (:func:`decode`). Over all windows of a question, the ``n_best`` highest
start and end logits inside the context form candidate spans with ``start <= end`` and at
most ``max_answer_len`` tokens; the span with the largest ``start + end`` logit wins and
its text is cut from the context by character offsets. With v2.0, the empty answer wins
when the ``[CLS]`` score exceeds the best span's by more than ``null_threshold``.

**Metrics** (official v1.1 evaluation script): answers are normalised (lower case,
punctuation removed, the articles *a*, *an*, *the* removed as words, whitespace collapsed);
EM is 1 when the normalised prediction equals a normalised gold answer, F1 the token-level
F1 against the best gold answer; both are averaged over questions and given in percent.
"""

from __future__ import annotations

import collections
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from bench.seeding import derive_rng

#: Seed of the article split; fixed so all models are trained and scored on the same articles.
SPLIT_SEED = 0
#: Articles of the dev set used to train the span head; the rest are held out for evaluation.
TRAIN_ARTICLES = 36
SPLIT_NAME = "dev-heldout-articles"


@dataclass(frozen=True)
class SquadExample:
    """One question with its context and gold answers (empty for unanswerable v2.0 questions)."""

    qid: str
    title: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]

    @property
    def is_impossible(self) -> bool:
        return not self.answers


def load_articles(path: str | Path) -> list[dict[str, Any]]:
    """The ``data`` list of a SQuAD JSON file (one dict per article)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["data"]


def examples_of(articles: Iterable[dict[str, Any]]) -> list[SquadExample]:
    """All questions of ``articles``, in file order."""
    found = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                found.append(SquadExample(
                    qid=qa["id"],
                    title=article["title"],
                    question=qa["question"],
                    context=context,
                    answers=tuple(a["text"] for a in answers),
                    answer_starts=tuple(int(a["answer_start"]) for a in answers),
                ))
    return found


def split_articles(articles: Sequence[dict[str, Any]], train_articles: int = TRAIN_ARTICLES, seed: int = SPLIT_SEED) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split articles into (train, held-out) by a seeded permutation of the sorted titles."""
    titles = sorted(a["title"] for a in articles)
    order = derive_rng(seed, "squad-article-split").permutation(len(titles))
    train_titles = {titles[i] for i in order[:train_articles]}
    train = [a for a in articles if a["title"] in train_titles]
    held_out = [a for a in articles if a["title"] not in train_titles]
    return train, held_out


# --------------------------------------------------------------------------- features


@dataclass
class Features:
    """Tokenised windows of a list of examples.

    Attributes:
        inputs: ``input_ids``, ``attention_mask``, ``token_type_ids`` (windows × length).
        example_index: the example each window belongs to.
        offsets: per window, per token, the (start, end) character span in the context,
            or ``None`` for tokens outside the context.
        start_positions / end_positions: training targets (token positions; 0 = [CLS]).
    """

    inputs: dict[str, torch.Tensor]
    example_index: np.ndarray
    offsets: list[list[tuple[int, int] | None]]
    start_positions: torch.Tensor
    end_positions: torch.Tensor

    def __len__(self) -> int:
        return len(self.example_index)


def _cut_question(tokenizer, question: str, max_query_len: int) -> str:
    encoded = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    if len(encoded["input_ids"]) <= max_query_len:
        return question
    return question[: encoded["offset_mapping"][max_query_len - 1][1]]


def build_features(examples: Sequence[SquadExample], tokenizer, max_len: int, doc_stride: int, max_query_len: int = 64) -> Features:
    """Windows of every example with training targets (see the module docstring)."""
    max_query_len = min(max_query_len, max(1, max_len // 2 - 3))
    questions = [_cut_question(tokenizer, ex.question, max_query_len) for ex in examples]
    encoded = tokenizer(
        questions,
        [ex.context for ex in examples],
        truncation="only_second",
        max_length=max_len,
        stride=min(doc_stride, max_len // 4),
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    sample_map = encoded["overflow_to_sample_mapping"]
    offsets, starts, ends = [], [], []
    for window, ex_index in enumerate(sample_map):
        sequence_ids = encoded.sequence_ids(window)
        window_offsets = [tuple(o) if s == 1 else None for o, s in zip(encoded["offset_mapping"][window], sequence_ids)]
        offsets.append(window_offsets)
        example = examples[ex_index]
        start = end = 0
        if example.answers:
            char_start = example.answer_starts[0]
            char_end = char_start + len(example.answers[0])
            inside = [i for i, o in enumerate(window_offsets) if o is not None]
            if inside and window_offsets[inside[0]][0] <= char_start and window_offsets[inside[-1]][1] >= char_end:
                start = next(i for i in inside if window_offsets[i][1] > char_start)
                end = max(i for i in inside if window_offsets[i][0] < char_end)
        starts.append(start)
        ends.append(end)
    inputs = {
        "input_ids": torch.tensor(encoded["input_ids"], dtype=torch.long),
        "attention_mask": torch.tensor(encoded["attention_mask"], dtype=torch.long),
        "token_type_ids": torch.tensor(encoded["token_type_ids"], dtype=torch.long),
    }
    return Features(inputs, np.asarray(sample_map, dtype=np.int64), offsets, torch.tensor(starts), torch.tensor(ends))


def decode(
    examples: Sequence[SquadExample],
    features: Features,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    n_best: int = 20,
    max_answer_len: int = 30,
    version_2: bool = False,
    null_threshold: float = 0.0,
) -> dict[str, str]:
    """Predicted answer text per question id (see the module docstring)."""
    windows_of: dict[int, list[int]] = collections.defaultdict(list)
    for window, ex_index in enumerate(features.example_index):
        windows_of[int(ex_index)].append(window)
    predictions = {}
    for ex_index, example in enumerate(examples):
        best_text, best_score, null_score = "", -np.inf, np.inf
        for window in windows_of.get(ex_index, []):
            offsets = features.offsets[window]
            s_logits, e_logits = start_logits[window], end_logits[window]
            null_score = min(null_score, float(s_logits[0] + e_logits[0]))
            top_starts = np.argsort(s_logits)[::-1][:n_best]
            top_ends = np.argsort(e_logits)[::-1][:n_best]
            for s in top_starts:
                if s >= len(offsets) or offsets[s] is None:
                    continue
                for e in top_ends:
                    if e >= len(offsets) or offsets[e] is None or e < s or e - s + 1 > max_answer_len:
                        continue
                    score = float(s_logits[s] + e_logits[e])
                    if score > best_score:
                        best_score = score
                        best_text = example.context[offsets[s][0] : offsets[e][1]]
        if version_2 and (best_score == -np.inf or null_score - best_score > null_threshold):
            best_text = ""
        predictions[example.qid] = best_text
    return predictions


# --------------------------------------------------------------------------- metrics

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation, drop the articles a/an/the, collapse whitespace (official SQuAD)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised strings are equal."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token-level F1 of the normalised strings (1.0 when both are empty, 0.0 when one is)."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(examples: Sequence[SquadExample], predictions: dict[str, str]) -> dict[str, float]:
    """EM and F1 in percent, each the mean over questions of the maximum over gold answers.

    An unanswerable question (no gold answer) has the single gold answer ``""``. A question
    without a prediction scores 0.
    """
    em = f1 = 0.0
    for example in examples:
        golds = list(example.answers) or [""]
        prediction = predictions.get(example.qid)
        if prediction is None:
            continue
        em += max(exact_match(prediction, g) for g in golds)
        f1 += max(f1_score(prediction, g) for g in golds)
    n = max(len(examples), 1)
    return {"em": 100.0 * em / n, "f1": 100.0 * f1 / n}
