"""GLUE reading and metrics, SQuAD features, decoding and the official EM/F1, on real data and known cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bench.errors import UserError
from bench.train import glue, squad
from bench.train.tasks import canonical, parse_tasks, task_status


# --------------------------------------------------------------------------- GLUE files


@pytest.mark.parametrize("task_name", ["cola", "sst-2", "mrpc", "sts-b", "rte", "wnli"])
@pytest.mark.parametrize("split", ["train", "dev"])
def test_every_local_glue_file_reads_one_row_per_line(data_dir, task_name, split):
    task = glue.get_task(task_name)
    path = data_dir / "glue" / task.directory / f"{split}.tsv"
    lines = sum(1 for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip())
    examples = glue.load_split(task, split, str(data_dir))
    assert len(examples) == lines - (1 if task.header else 0)
    assert all(len(column) == len(examples) for column in examples.texts)
    if task.is_regression:
        assert examples.labels.dtype == np.float32 and 0 <= examples.labels.min() and examples.labels.max() <= 5
    else:
        assert set(np.unique(examples.labels)) <= set(range(task.num_labels))


def test_quotes_and_na_words_stay_text(data_dir):
    mrpc = glue.load_split(glue.get_task("mrpc"), "dev", str(data_dir))
    assert any('"' in text for text in mrpc.texts[1]), "quoting=3 keeps the quote characters"
    sst = glue.load_split(glue.get_task("sst-2"), "train", str(data_dir))
    assert all(isinstance(t, str) and t for t in sst.texts[0])
    frame = glue.read_tsv(data_dir / "glue" / "CoLA" / "dev.tsv", glue.get_task("cola"))
    assert list(frame.columns) == ["sentence", "label"]
    assert frame["sentence"].iloc[0] == "The sailors rode the breeze clear of the rocks."


def test_missing_tasks_have_reasons_and_are_never_loaded(data_dir):
    assert "no training set" in glue.missing_reason(glue.get_task("qnli"))
    for name in ("mnli", "qqp"):
        assert "not in the reference data" in glue.missing_reason(glue.get_task(name))
        with pytest.raises(UserError, match="missing"):
            glue.load_split(glue.get_task(name), "train", str(data_dir))
    for name in ("cola", "sst-2", "mrpc", "sts-b", "rte", "wnli"):
        assert glue.missing_reason(glue.get_task(name)) is None
    assert task_status("squad-v1.1", "cpu") is None
    assert "not part of the reference data" in task_status("squad-v2.0", "cpu")


def test_task_names():
    assert canonical("SST2") == "sst-2" and canonical("squad") == "squad-v1.1" and canonical("stsb") == "sts-b"
    assert parse_tasks("glue")[:2] == ["cola", "sst-2"] and "squad-v1.1" in parse_tasks("all") and parse_tasks("none") == []
    assert parse_tasks("rte, SQuAD,rte") == ["rte", "squad-v1.1"]
    with pytest.raises(UserError, match="unknown task 'mnlx'; allowed: all, glue, cola"):
        parse_tasks("mnlx")


# --------------------------------------------------------------------------- GLUE metrics


def _plain_mcc(pred, gold):
    tp = sum(p == 1 and g == 1 for p, g in zip(pred, gold))
    tn = sum(p == 0 and g == 0 for p, g in zip(pred, gold))
    fp = sum(p == 1 and g == 0 for p, g in zip(pred, gold))
    fn = sum(p == 0 and g == 1 for p, g in zip(pred, gold))
    den = ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)) ** 0.5
    return (tp * tn - fp * fn) / den if den else 0.0


def test_matthews_f1_accuracy_against_plain_counts():
    rng = np.random.default_rng(0)
    for _ in range(20):
        gold = rng.integers(0, 2, 50)
        pred = np.where(rng.random(50) < 0.7, gold, 1 - gold)
        assert glue.matthews_corr(pred, gold) == pytest.approx(_plain_mcc(pred, gold))
        tp = int(((pred == 1) & (gold == 1)).sum())
        precision, recall = tp / max((pred == 1).sum(), 1), tp / max((gold == 1).sum(), 1)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        assert glue.f1_binary(pred, gold) == pytest.approx(f1)
        assert glue.accuracy(pred, gold) == pytest.approx(np.mean(pred == gold))
    # known values
    assert glue.matthews_corr([1, 1, 0, 0], [1, 1, 0, 0]) == 1.0
    assert glue.matthews_corr([0, 0, 1, 1], [1, 1, 0, 0]) == -1.0
    assert glue.matthews_corr([1, 1, 1, 1], [1, 0, 1, 0]) == 0.0  # constant prediction
    assert glue.f1_binary([1, 0, 1, 0], [1, 1, 0, 0]) == pytest.approx(0.5)


def test_correlations_against_scipy_and_task_metrics():
    rng = np.random.default_rng(1)
    gold = rng.uniform(0, 5, 40)
    pred = gold + rng.normal(0, 1, 40)
    assert glue.pearson(pred, gold) == pytest.approx(stats.pearsonr(pred, gold)[0])
    assert glue.spearman(pred, gold) == pytest.approx(stats.spearmanr(pred, gold)[0])
    assert math.isnan(glue.pearson(np.ones(5), np.arange(5)))
    values = glue.task_metrics(glue.get_task("sts-b"), pred.reshape(-1, 1), gold)
    assert values["pearson"] == pytest.approx(100 * stats.pearsonr(pred, gold)[0])
    assert values["score"] == values["spearman"]
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.0, 1.0]])
    cola = glue.task_metrics(glue.get_task("cola"), logits, np.array([0, 1, 1, 1]))
    assert cola["mcc"] == pytest.approx(100 * _plain_mcc([0, 1, 0, 1], [0, 1, 1, 1])) and cola["score"] == cola["mcc"]
    mrpc = glue.task_metrics(glue.get_task("mrpc"), logits, np.array([0, 1, 1, 1]))
    assert mrpc["accuracy"] == 75.0 and mrpc["f1"] == pytest.approx(80.0) and mrpc["score"] == mrpc["f1"]


# --------------------------------------------------------------------------- SQuAD metrics


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("The Denver Broncos", "denver broncos"),
        ("  an   apple, a day!  ", "apple day"),
        ("Theory of the 'A' team.", "theory of team"),
        ("the", ""),
        ("Anthem", "anthem"),  # 'an' only as a word
        ("Hello\tworld\n", "hello world"),
    ],
)
def test_official_normalisation(text, normal):
    assert squad.normalize_answer(text) == normal


def test_exact_match_and_f1_known_cases():
    assert squad.exact_match("the Denver Broncos!", "Denver Broncos") == 1.0
    assert squad.exact_match("Broncos", "Denver Broncos") == 0.0
    assert squad.f1_score("the big cat", "cat") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert squad.f1_score("cat cat dog", "cat dog dog") == pytest.approx(2 / 3)
    assert squad.f1_score("", "") == 1.0 and squad.f1_score("a", "cat") == 0.0 and squad.f1_score("the", "") == 1.0
    example = squad.SquadExample("q1", "t", "?", "ctx", ("Denver Broncos", "Broncos", "the Broncos"), (0, 7, 3))
    impossible = squad.SquadExample("q2", "t", "?", "ctx", (), ())
    scores = squad.squad_scores([example, impossible], {"q1": "Broncos team", "q2": ""})
    assert scores["em"] == pytest.approx(50.0)  # q1 no exact match, q2 correct empty answer
    assert scores["f1"] == pytest.approx(100 * (2 / 3 + 1.0) / 2)  # best gold for q1 is "Broncos": P 1/2, R 1
    assert squad.squad_scores([example], {})["f1"] == 0.0


# --------------------------------------------------------------------------- SQuAD data


def test_article_split_is_fixed_and_disjoint(data_dir):
    articles = squad.load_articles(data_dir / "squad" / "dev-v1.1.json")
    train, held = squad.split_articles(articles)
    assert len(train) == 36 and len(held) == 12
    assert not {a["title"] for a in train} & {a["title"] for a in held}
    again, _ = squad.split_articles(list(reversed(articles)))
    assert {a["title"] for a in again} == {a["title"] for a in train}
    assert len(squad.examples_of(articles)) == 10570


def test_feature_targets_recover_the_answer_and_decode_finds_it(data_dir):
    from bench.inputs import load_tokenizer

    articles = squad.load_articles(data_dir / "squad" / "dev-v1.1.json")
    examples = squad.examples_of(articles[:1])[:30]
    tokenizer = load_tokenizer()
    features = squad.build_features(examples, tokenizer, max_len=96, doc_stride=32)
    assert len(features) > len(examples), "long contexts are split into several windows"
    assert features.inputs["input_ids"].shape[1] == 96
    hits = exact = 0
    for window, ex_index in enumerate(features.example_index):
        start, end = int(features.start_positions[window]), int(features.end_positions[window])
        if start == 0:
            continue
        offsets = features.offsets[window]
        text = examples[ex_index].context[offsets[start][0] : offsets[end][1]]
        answer = examples[ex_index].answers[0]
        assert answer in text and len(text) - len(answer) < 10  # whole tokens around the answer ("gold" in "golden")
        hits += 1
        exact += text == answer
    assert hits >= len(examples)  # every answer lies inside at least one window
    assert exact >= 0.9 * hits
    # logits that point at the targets decode to the gold answers: EM 100
    n, length = len(features), 96
    starts = np.full((n, length), -5.0)
    ends = np.full((n, length), -5.0)
    for window in range(n):
        s, e = int(features.start_positions[window]), int(features.end_positions[window])
        starts[window, s] = ends[window, e] = 10.0 if s else -10.0
    predictions = squad.decode(examples, features, starts, ends)
    scores = squad.squad_scores(examples, predictions)
    assert scores["em"] >= 90.0 and scores["f1"] >= 95.0


def test_decode_respects_span_rules_and_null_answers():
    example = squad.SquadExample("q", "t", "who?", "alpha beta gamma", ("beta",), (6,))
    offsets = [None, None, (0, 5), (6, 10), (11, 16), None]
    features = squad.Features({}, np.array([0]), [offsets], None, None)
    start = np.array([[0.0, 9.0, 1.0, 5.0, 2.0, 9.0]])  # positions 1 and 5 are outside the context
    end = np.array([[0.0, 9.0, 4.0, 1.0, 3.0, 9.0]])
    # best valid span: start 3 (beta) .. end 4 (gamma) = 5 + 3
    assert squad.decode([example], features, start, end)["q"] == "beta gamma"
    assert squad.decode([example], features, start, end, max_answer_len=1)["q"] == "beta"  # 5 + 1 beats 1 + 4 and 2 + 3
    null = np.array([[20.0, 0, 0, 0, 0, 0]])
    assert squad.decode([example], features, null, null, version_2=True)["q"] == ""
    assert squad.decode([example], features, null, null, version_2=False)["q"] != ""
