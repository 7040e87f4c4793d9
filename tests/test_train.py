"""Knowledge distillation: each loss term against a plain computation, feature capture on the real
encoders, the schedule, resume after SIGKILL, and `bench train` + `bench evaluate` end to end (smoke)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from bench.cli.main import main
from bench.train import loop
from bench.train.distill import FeatureShapes, Features, HeadMix, KDLoss, layer_map, prediction_loss, soft_cross_entropy

TINY_ARCH = "[6,7,0,11,8,3]"  # nlu-tiny: MobileBERT and BERT blocks


def _env(**extra):
    env = dict(os.environ, PROXYBENCH_OFFLINE="1", TQDM_DISABLE="1", HF_HUB_OFFLINE="1")
    env.update(extra)
    return env


# --------------------------------------------------------------------------- loss terms


def test_layer_map_is_the_papers_rule():
    assert layer_map(12, 12) == list(range(12))
    assert layer_map(6, 12) == [1, 3, 5, 7, 9, 11]  # student layer 1 <-> teacher layer 2, ..., 6 <-> 12
    assert layer_map(12, 6) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert layer_map(5, 12) == [2, 4, 7, 9, 11]
    with pytest.raises(ValueError):
        layer_map(0, 6)


def _plain_soft_ce(s: np.ndarray, t: np.ndarray, tau: float, mask: np.ndarray | None = None) -> float:
    rows = []
    for srow, trow, mrow in zip(s.reshape(-1, s.shape[-1]), t.reshape(-1, t.shape[-1]), (mask.reshape(-1, s.shape[-1]) if mask is not None else [None] * (s.size // s.shape[-1]))):
        keep = np.ones_like(srow, dtype=bool) if mrow is None else mrow.astype(bool)
        p = np.exp(trow[keep] / tau - np.max(trow[keep] / tau))
        p /= p.sum()
        logq = srow[keep] / tau - np.max(srow[keep] / tau)
        logq -= np.log(np.exp(logq).sum())
        rows.append(-(p * logq).sum())
    return float(np.mean(rows))


def test_soft_cross_entropy_against_plain_computation():
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    for tau in (1.0, 2.0, 0.5):
        got = soft_cross_entropy(torch.tensor(s), torch.tensor(t), tau)
        assert float(got) == pytest.approx(_plain_soft_ce(s, t, tau), rel=1e-9)
    mask = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 1, 1]])
    got = soft_cross_entropy(torch.tensor(s), torch.tensor(t), 1.0, torch.tensor(mask, dtype=torch.bool))
    assert float(got) == pytest.approx(_plain_soft_ce(s, t, 1.0, mask), rel=1e-9)
    # the minimum over student logits is reached at the teacher's distribution
    assert float(soft_cross_entropy(torch.tensor(t), torch.tensor(t))) < float(soft_cross_entropy(torch.tensor(s), torch.tensor(t)))


def test_prediction_loss_for_each_head_kind():
    rng = np.random.default_rng(1)
    s, t = rng.normal(size=(3, 1)), rng.normal(size=(3, 1))
    assert float(prediction_loss("regression", torch.tensor(s), torch.tensor(t), 1.0)) == pytest.approx(np.mean((s - t) ** 2))
    s, t = rng.normal(size=(2, 5, 2)), rng.normal(size=(2, 5, 2))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    expected = (_plain_soft_ce(s[..., 0], t[..., 0], 2.0, mask) + _plain_soft_ce(s[..., 1], t[..., 1], 2.0, mask)) / 2
    got = prediction_loss("span", torch.tensor(s), torch.tensor(t), 2.0, torch.tensor(mask))
    assert float(got) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="unknown head kind"):
        prediction_loss("ranking", torch.tensor(s), torch.tensor(t), 1.0)


def _features(rng, batch, tokens, emb, hidden, attention, probs=False):
    attn = [torch.tensor(rng.normal(size=(batch, w, tokens, tokens) if probs else (batch, tokens, w))) for w in attention]
    hid = [torch.tensor(rng.normal(size=(batch, tokens, hidden))) for _ in attention]
    return Features(torch.tensor(rng.normal(size=(batch, tokens, emb))), hid, attn, hid[-1])


def _mse(a, b):
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def test_kd_terms_with_projections_against_plain_computation():
    rng = np.random.default_rng(2)
    student = _features(rng, 2, 3, emb=5, hidden=5, attention=[4, 2])  # a BERT-like and a MobileBERT-like width
    teacher = _features(rng, 2, 3, emb=3, hidden=3, attention=[3, 3, 3, 3])
    torch.manual_seed(0)
    kd = KDLoss(FeatureShapes.of(student, "output"), FeatureShapes.of(teacher, "output")).double()
    assert kd.mapping == [1, 3] and set(kd.w_a) == {"2", "4"}
    s_logits, t_logits = torch.tensor(rng.normal(size=(2, 3))), torch.tensor(rng.normal(size=(2, 3)))
    terms = kd(student, teacher, gamma=1.0, head_kind="classification", student_logits=s_logits, teacher_logits=t_logits)
    w_e, w_h = kd.w_e.weight.detach().numpy(), kd.w_h.weight.detach().numpy()
    w_a = {k: m.weight.detach().numpy() for k, m in kd.w_a.items()}
    attn = _mse(student.attention[0].numpy() @ w_a["4"].T, teacher.attention[1]) + _mse(student.attention[1].numpy() @ w_a["2"].T, teacher.attention[3])
    hidd = _mse(student.hidden[0].numpy() @ w_h.T, teacher.hidden[1]) + _mse(student.hidden[1].numpy() @ w_h.T, teacher.hidden[3])
    embd = _mse(student.embeddings.numpy() @ w_e.T, teacher.embeddings)
    pred = _plain_soft_ce(s_logits.numpy(), t_logits.numpy(), 1.0)
    assert float(terms["attn"]) == pytest.approx(attn, rel=1e-9)
    assert float(terms["hidd"]) == pytest.approx(hidd, rel=1e-9)
    assert float(terms["embd"]) == pytest.approx(embd, rel=1e-9)
    assert float(terms["pred"]) == pytest.approx(pred, rel=1e-9)
    assert float(terms["loss"].detach()) == pytest.approx(attn + hidd + embd + pred, rel=1e-9)
    # gamma = 0 (general distillation): no prediction term
    general = kd(student, teacher, gamma=0.0)
    assert float(general["loss"].detach()) == pytest.approx(attn + hidd + embd, rel=1e-9) and float(general["pred"]) == 0.0
    # the projections are trained: the loss has gradients with respect to them
    terms["loss"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in kd.parameters())


def test_kd_terms_without_projections_when_widths_agree():
    rng = np.random.default_rng(3)
    student = _features(rng, 1, 4, emb=3, hidden=3, attention=[3, 3])
    teacher = _features(rng, 1, 4, emb=3, hidden=3, attention=[3, 3])
    kd = KDLoss(FeatureShapes.of(student, "output"), FeatureShapes.of(teacher, "output")).double()
    assert not list(kd.parameters())
    terms = kd(student, teacher)
    expected = sum(_mse(student.attention[i], teacher.attention[i]) + _mse(student.hidden[i], teacher.hidden[i]) for i in range(2))
    assert float(terms["loss"]) == pytest.approx(expected + _mse(student.embeddings, teacher.embeddings), rel=1e-9)


def test_attention_map_target_mixes_heads():
    rng = np.random.default_rng(4)
    student = _features(rng, 2, 3, emb=4, hidden=4, attention=[2, 2], probs=True)
    teacher = _features(rng, 2, 3, emb=4, hidden=4, attention=[3, 3, 3], probs=True)
    kd = KDLoss(FeatureShapes.of(student, "probs"), FeatureShapes.of(teacher, "probs"), attn_target="probs").double()
    assert kd.mapping == [1, 2] and isinstance(kd.w_a["2"], HeadMix)
    with torch.no_grad():
        kd.w_a["2"].weight.copy_(torch.tensor(rng.normal(size=(2, 3))))
    weight = kd.w_a["2"].weight.detach().numpy()
    expected = 0.0
    for i, j in enumerate(kd.mapping):
        a = student.attention[i].numpy()
        mixed = np.stack([sum(a[:, h] * weight[h, g] for h in range(2)) for g in range(3)], axis=1)
        expected += _mse(mixed, teacher.attention[j])
    assert float(kd(student, teacher)["attn"]) == pytest.approx(expected, rel=1e-9)
    assert torch.allclose(HeadMix(2, 3).double()(student.attention[0]), student.attention[0].mean(dim=1, keepdim=True).expand(-1, 3, -1, -1))


# --------------------------------------------------------------------------- encoders


@pytest.fixture(scope="module")
def encoders():
    from bench.train.stages import build_student
    from bench.train.teacher import load_teacher

    student, _ = build_student("nlu-small", [6, 0, 7, 1, 8, 2, 9, 3, 10, 4, 11, 5], 0)
    return student.eval(), load_teacher("all-MiniLM-L6-v2")


def test_student_and_teacher_features(encoders, tiny_batch):
    student, teacher = encoders
    with torch.no_grad():
        s = student(tiny_batch, "output")
        t = teacher(tiny_batch, "output")
        sp = student(tiny_batch, "probs")
        tp = teacher(tiny_batch, "probs")
    assert [a.shape[-1] for a in s.attention] == [132, 528] * 6  # MobileBERT bottleneck vs BERT width
    assert len(s.hidden) == 12 and s.embeddings.shape == (4, 16, 528) and torch.equal(s.hidden[-1], s.last)
    assert len(t.attention) == 6 and t.attention[0].shape == (4, 16, 384) and len(t.hidden) == 6
    assert sp.attention[0].shape == (4, 12, 16, 16) and tp.attention[0].shape == (4, 12, 16, 16)
    assert torch.allclose(sp.attention[3].sum(-1), torch.ones(4, 12, 16), atol=1e-5)
    # the MHA sub-layer output is what each block's FFN receives
    from spaces.taps import modules_with_role

    seen = []
    hooks = [modules_with_role(student.model, "ffn")[3].register_forward_pre_hook(lambda m, a: seen.append(a[0])),
             teacher.model.encoder.layer[2].intermediate.register_forward_pre_hook(lambda m, a: seen.append(a[0]))]
    with torch.no_grad():
        student(tiny_batch), teacher(tiny_batch)
    for hook in hooks:
        hook.remove()
    assert torch.equal(seen[0], s.attention[3]) and torch.equal(seen[1], t.attention[2])
    def hooks_of(module):  # transformers keeps its own output-capturing hooks on the teacher; ours must go
        return sum(len(m._forward_hooks) for m in module.modules())

    before = hooks_of(teacher)
    with torch.no_grad():
        student(tiny_batch, "output"), teacher(tiny_batch, "output"), teacher(tiny_batch, "probs")
    assert hooks_of(student) == 0 and hooks_of(teacher) == before
    kd = KDLoss(FeatureShapes.of(s, "output"), FeatureShapes.of(t, "output"))
    assert set(kd.w_a) == {"132", "528"} and kd.mapping == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert float(kd(s, t)["loss"].detach()) > 0


def test_distillation_steps_reduce_the_loss_on_a_fixed_batch(encoders, tiny_batch):
    from bench.train.stages import build_student

    _, teacher = encoders
    student, _ = build_student("nlu-tiny", json.loads(TINY_ARCH), 0)
    with torch.no_grad():
        target = teacher(tiny_batch, "output")
    torch.manual_seed(0)
    kd = KDLoss(FeatureShapes.of(student(tiny_batch, "output"), "output"), FeatureShapes.of(target, "output"))
    trainable = torch.nn.ModuleDict({"student": student, "kd": kd}).eval()
    optimizer, _ = loop.make_optimizer(trainable, loop.Schedule(steps=10, lr=1e-3, warmup_ratio=0.0))
    losses = []
    for _ in range(6):
        terms = kd(student(tiny_batch, "output"), target)
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
        losses.append(float(terms["loss"].detach()))
    assert losses[-1] < 0.8 * losses[0]


def test_schedule_warms_up_then_decays_linearly():
    schedule = loop.Schedule(steps=100, lr=1e-4)
    assert schedule.warmup_steps == 10
    assert [loop.lr_factor(s, schedule) for s in (0, 5, 10, 55, 100)] == [0.0, 0.5, 1.0, 0.5, 0.0]
    module = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    optimizer, scheduler = loop.make_optimizer(module, schedule)
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.01 and len(decayed["params"]) == 1 and plain["weight_decay"] == 0.0 and len(plain["params"]) == 3
    assert decayed["betas"] == (0.9, 0.999)


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, data_dir):
    """`bench train` (smoke, nlu-tiny) on a classification, a regression, a span and a missing task, then `bench evaluate`."""
    root = tmp_path_factory.mktemp("smoke")
    train_dir, eval_dir = root / "train" / "tiny", root / "eval"
    args = ["train", "--space", "nlu-tiny", "--arch", TINY_ARCH, "--name", "Tiny", "--scale", "smoke", "--tasks", "rte,sts-b,squad,mnli", "--out", str(train_dir), "--no-progress"]
    assert main(args) == 0
    assert main(["evaluate", str(train_dir), "--out", str(eval_dir), "--tasks", "rte,sts-b,squad,mnli,qnli", "--teachers", "also", "--no-progress"]) == 0
    return root, train_dir, eval_dir, args


def test_smoke_train_and_evaluate_write_tidy_rows(smoke_run, capsys):
    root, train_dir, eval_dir, _ = smoke_run
    manifest = json.loads((train_dir / "manifest.json").read_text())
    assert manifest["config"]["seed"] == 0 and manifest["config"]["arch"] == json.loads(TINY_ARCH)
    assert manifest["config"]["budgets"]["general"]["max_steps"] == 3 and manifest["config"]["kd"]["attn_target"] == "output"
    assert {"torch", "transformers"} <= set(manifest["versions"])
    for stage in ("general", "tasks/rte", "tasks/sts-b", "tasks/squad-v1.1"):
        done = json.loads((train_dir / stage / "done.json").read_text())
        assert done["steps"] == 3 and (train_dir / stage / "final.safetensors").is_file()
        assert not (train_dir / stage / "checkpoint.pt").exists()
        log = pd.read_csv(train_dir / stage / "log.csv")
        assert list(log["step"]) == [1, 2, 3] and np.isfinite(log["loss"]).all()
    task_log = pd.read_csv(train_dir / "tasks" / "rte" / "log.csv")
    assert (task_log["pred"] > 0).all() and (task_log["attn"] > 0).all()
    assert (pd.read_csv(train_dir / "general" / "log.csv")["pred"] == 0).all()  # gamma = 0
    assert len([p for p in (root / "train" / "teachers").iterdir() if p.is_dir()]) == 3
    rows = pd.read_csv(eval_dir / "metrics.csv", keep_default_na=False)
    assert {"model", "task", "metric", "value", "split", "seed", "steps"} <= set(rows.columns)
    ok = rows[rows["status"] == "ok"]
    tiny = ok[ok["model"] == "Tiny"].set_index(["task", "metric"])
    assert 0 <= float(tiny.loc[("rte", "accuracy"), "value"]) <= 100 and tiny.loc[("rte", "accuracy"), "n"] == "24"
    assert {"pearson", "spearman", "score"} <= set(ok[(ok["model"] == "Tiny") & (ok["task"] == "sts-b")]["metric"])
    assert tiny.loc[("squad-v1.1", "f1"), "split"] == "dev-heldout-articles"
    assert float(tiny.loc[("model", "params"), "value"]) > 5e6 and float(tiny.loc[("latency", "ms"), "value"]) > 0
    assert float(tiny.loc[("general", "heldout_kd_loss"), "value"]) > 0
    missing = rows[rows["status"] == "missing"]
    assert set(missing["task"]) == {"mnli", "qnli"} and (missing["value"] == "").all()
    assert set(missing[missing["task"] == "mnli"]["split"]) == {"dev-m", "dev-mm"}
    teacher = ok[ok["model"] == "teacher (all-MiniLM-L6-v2)"]
    assert {"rte", "sts-b", "squad-v1.1", "model", "latency"} <= set(teacher["task"])
    assert not rows.duplicated(["model", "task", "metric", "split", "seed"]).any()
    training = json.loads((eval_dir / "training" / "Tiny.json").read_text())
    assert training["command"] == manifest["command"] and training["config"] == manifest["config"]


def test_rerun_resumes_without_training_or_duplicating(smoke_run):
    _, train_dir, eval_dir, args = smoke_run
    before = (train_dir / "tasks" / "rte" / "final.safetensors").stat().st_mtime_ns
    assert main(args) == 0
    assert (train_dir / "tasks" / "rte" / "final.safetensors").stat().st_mtime_ns == before
    n = len(pd.read_csv(eval_dir / "metrics.csv"))
    assert main(["evaluate", str(train_dir), "--out", str(eval_dir), "--tasks", "rte,sts-b,squad,mnli,qnli", "--teachers", "also", "--no-progress"]) == 0
    assert len(pd.read_csv(eval_dir / "metrics.csv")) == n
    only = eval_dir.parent / "teacher-only"
    assert main(["evaluate", str(train_dir), "--out", str(only), "--tasks", "rte", "--teachers", "only", "--no-progress"]) == 0
    assert set(pd.read_csv(only / "metrics.csv")["model"]) == {"teacher (all-MiniLM-L6-v2)"}


def test_recorded_teacher_paths_are_absolute_and_a_moved_teacher_is_reported(smoke_run, tmp_path, caplog):
    _, train_dir, _, _ = smoke_run
    recorded = Path(json.loads((train_dir / "tasks" / "rte" / "done.json").read_text())["teacher_dir"])
    assert recorded.is_absolute() and (recorded / "final.safetensors").is_file()
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(train_dir, copy)
    done = copy / "tasks" / "rte" / "done.json"
    done.write_text(json.dumps({**json.loads(done.read_text()), "teacher_dir": str(tmp_path / "gone")}))
    out = tmp_path / "teachers"
    assert main(["evaluate", str(copy), "--out", str(out), "--tasks", "rte", "--teachers", "only", "--no-progress"]) == 0
    assert "the fine-tuned teacher of task rte is not at" in caplog.text and str(tmp_path / "gone") in caplog.text
    assert "rte" not in set(pd.read_csv(out / "metrics.csv")["task"])


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_user_errors(capsys, tmp_path, smoke_run):
    _, train_dir, _, args = smoke_run
    base = ["train", "--space", "nlu-tiny", "--name", "x", "--out", str(tmp_path / "t")]
    assert "position 2: block index 14 is out of range; allowed: 0..11" in _error(capsys, [*base, "--arch", "[6,7,14,11,8,3]"])
    assert "expected 6 block indices, got 3" in _error(capsys, [*base, "--arch", "[6,7,0]"])
    assert "neither a JSON list" in _error(capsys, [*base, "--arch", "six"])
    assert "unknown task 'colaa'" in _error(capsys, [*base, "--arch", TINY_ARCH, "--tasks", "colaa"])
    assert "unknown scale 'huge'; allowed: smoke, cpu, paper" in _error(capsys, [*base, "--arch", TINY_ARCH, "--scale", "huge"])
    assert "--max-steps must be >= 1" in _error(capsys, [*base, "--arch", TINY_ARCH, "--max-steps", "0"])
    if not torch.cuda.is_available():
        assert "no CUDA device is available" in _error(capsys, [*base, "--arch", TINY_ARCH, "--device", "cuda"])
    assert "cannot load teacher" in _error(capsys, [*base, "--arch", TINY_ARCH, "--teacher", str(tmp_path / "nope")])
    assert "holds a run with a different config (seed: 0 -> 1" in _error(capsys, [*args, "--seed", "1"])
    assert "is not a run directory" in _error(capsys, ["evaluate", str(tmp_path), "--out", str(tmp_path / "e")])


@pytest.mark.slow
def test_sigkill_mid_training_then_rerun_ends_with_the_same_weights(tmp_path):
    from safetensors.torch import load_file

    def command(out: Path) -> list[str]:
        return [sys.executable, "-m", "bench", "train", "--space", "nlu-tiny", "--arch", TINY_ARCH, "--name", "k", "--scale", "smoke",
                "--tasks", "none", "--max-steps", "8", "--save-every", "3", "--out", str(out), "--no-progress"]

    killed = tmp_path / "killed" / "run"
    process = subprocess.Popen(command(killed), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log_file = killed / "general" / "log.csv"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if (killed / "general" / "checkpoint.pt").exists() and log_file.exists() and len(log_file.read_text().splitlines()) > 4:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "general" / "done.json").exists(), "the kill should land during general distillation"
    resumed = subprocess.run(command(killed), env=_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step" in resumed.stderr
    fresh = tmp_path / "fresh" / "run"
    clean = subprocess.run(command(fresh), env=_env(), capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    a, b = load_file(str(killed / "general" / "final.safetensors")), load_file(str(fresh / "general" / "final.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log_a, log_b = pd.read_csv(killed / "general" / "log.csv"), pd.read_csv(fresh / "general" / "log.csv")
    assert list(log_a["step"]) == list(range(1, 9))
    pd.testing.assert_series_equal(log_a["loss"], log_b["loss"])
    assert json.loads((killed / "general" / "heldout.json").read_text()) == json.loads((fresh / "general" / "heldout.json").read_text())


def test_two_evaluations_of_one_directory_store_each_row_once(tmp_path):
    import torch

    from bench.train.config import get_train_scale
    from bench.train.evaluate import Evaluation, read_rows

    scale = get_train_scale("smoke")
    first = Evaluation(tmp_path, scale, None, torch.device("cpu"), ["bench", "evaluate"])
    second = Evaluation(tmp_path, scale, None, torch.device("cpu"), ["bench", "evaluate"])  # opened before any row exists
    row = {"model": "m", "task": "sst-2", "metric": "accuracy", "value": 50.0, "split": "dev", "seed": 0, "status": "ok"}
    first.add([row])
    second.add([row, {**row, "metric": "score"}])
    stored = read_rows(tmp_path / "metrics.csv")
    assert [(r["metric"], r["value"]) for r in stored] == [("accuracy", "50.0"), ("score", "50.0")]


def test_train_tables_script_trains_and_evaluates_one_searched_model(tmp_path, data_dir):
    """scripts/train_tables.sh, the documented one command: train + evaluate + the teacher row."""
    repo = Path(__file__).resolve().parents[1]
    env = _env(SCALE="smoke", ONLY="nlu-tiny/w-pca", TASKS="wnli", RUNS=str(tmp_path / "runs"), RESULTS=str(tmp_path / "eval"),
               BENCH=str(Path(sys.executable).with_name("bench")), PROXYBENCH_DATA=str(data_dir))
    done = subprocess.run(["bash", "scripts/train_tables.sh"], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    arch = json.loads((repo / "results" / "search" / "nlu-tiny-w-pca" / "best_arch.json").read_text())
    manifest = json.loads((tmp_path / "runs" / "nlu-tiny-w-pca-smoke" / "manifest.json").read_text())
    assert manifest["config"]["arch"] == arch
    rows = pd.read_csv(tmp_path / "eval" / "nlu-tiny-w-pca" / "metrics.csv", keep_default_na=False)
    wnli = rows[(rows["task"] == "wnli") & (rows["metric"] == "accuracy")]
    assert len(wnli) == 1 and wnli["status"].item() == "ok" and wnli["steps"].item() == 3 and wnli["model"].item() == "nlu-tiny-w-pca"
    teacher = pd.read_csv(tmp_path / "eval" / "teacher" / "metrics.csv", keep_default_na=False)
    assert "wnli" in set(teacher["task"])
