"""The command line: happy path, resume after SIGKILL, and one-line errors for user mistakes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from bench.cli.main import main

SMALL = ["--batch-size", "2", "--seq-len", "8"]


def _env(**extra):
    env = dict(os.environ, PROXYBENCH_OFFLINE="1", TQDM_DISABLE="1")
    env.update(extra)
    return env


def _bench(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, env=_env(), cwd=cwd)


def test_run_then_correlate(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--proxies", "all", "--limit", "6", *SMALL, "--out", str(out), "--no-progress"]) == 0
    rows = pd.read_csv(out / "rows.csv")
    assert set(rows["proxy"]) >= {"params", "v-pca", "w-pca"}
    assert rows.groupby("proxy").size().eq(6).all()
    assert set(rows.columns) >= {"arch_id", "arch", "proxy", "seed", "value", "seconds", "status"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["batch_size"] == 2 and manifest["config"]["proxies"]["w-pca"]["options"]["eta"] == 0.99
    capsys.readouterr()
    assert main(["correlate", str(out), "--bootstrap", "50"]) == 0
    printed = capsys.readouterr().out
    assert "GLUE mean:" in printed and "W-PCA" in printed and "Kendall tau [95% CI]" in printed
    table = pd.read_csv(out / "correlations.csv")
    assert set(table["task"]) == {"glue"} and (table["n"] == 6).all()


def test_same_seed_same_rows_and_jobs_do_not_change_values(tmp_path):
    args = ["run", "--proxies", "v-pca,params", "--limit", "4", *SMALL, "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--jobs", "2"]) == 0
    key = ["arch_hash", "proxy"]
    a = pd.read_csv(tmp_path / "a" / "rows.csv").sort_values(key).reset_index(drop=True)
    b = pd.read_csv(tmp_path / "b" / "rows.csv").sort_values(key).reset_index(drop=True)
    pd.testing.assert_series_equal(a["value"], b["value"])
    # the manifest records each invocation's wall time and the threads its workers really used
    one, two = (json.loads((tmp_path / name / "manifest.json").read_text()) for name in "ab")
    assert [entry["scored"] for entry in one["invocations"]] == [4] and one["invocations"][0]["worker_threads"] == [torch.get_num_threads()]
    assert two["invocations"][0]["worker_threads"] == [max(1, (os.cpu_count() or 1) // 2)]  # each of two workers gets half the cores
    assert two["finished"] == two["invocations"][0]["ended"] and two["wall_seconds"] == two["invocations"][0]["wall_seconds"] > 0
    assert main([*args, "--out", str(tmp_path / "b"), "--jobs", "2"]) == 0  # a rerun of a finished run scores nothing
    again = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert [entry["scored"] for entry in again["invocations"]] == [4, 0] and again["finished"] == two["finished"]


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_finishes_with_every_row_once(tmp_path):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "bench", "run", "--proxies", "params,v-pca,w-pca", "--limit", "40", *SMALL, "--out", str(out), "--no-progress"]
    process = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows_file = out / "rows.csv"
    deadline = time.time() + 120
    while time.time() < deadline:
        if rows_file.exists() and len(rows_file.read_text().splitlines()) > 10:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = len(rows_file.read_text().splitlines()) - 1
    assert 0 < partial < 40 * 3, "the kill should land mid-run"
    finish = subprocess.run(args, env=_env(), capture_output=True, text=True)
    assert finish.returncode == 0, finish.stderr
    rows = pd.read_csv(rows_file)
    assert len(rows) == 40 * 3
    assert not rows.duplicated(["space", "arch_hash", "proxy", "proxy_version", "seed"]).any()
    assert (rows["status"] == "ok").all()
    fresh = tmp_path / "fresh"
    clean = subprocess.run([*args[:-3], "--out", str(fresh), "--no-progress"], env=_env(), capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    key = ["arch_hash", "proxy"]
    resumed = rows.sort_values(key).reset_index(drop=True)
    uninterrupted = pd.read_csv(fresh / "rows.csv").sort_values(key).reset_index(drop=True)
    pd.testing.assert_series_equal(resumed["value"], uninterrupted["value"])


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_unknown_proxy(capsys, tmp_path):
    err = _error(capsys, ["run", "--proxies", "wpcaa", "--out", str(tmp_path / "x")])
    assert "unknown proxy 'wpcaa'; did you mean wpca" in err


def test_unknown_space(capsys, tmp_path):
    err = _error(capsys, ["run", "--space", "nas-bench", "--out", str(tmp_path / "x")])
    assert "unknown search space 'nas-bench'; known spaces: flexibert" in err


def test_unknown_variant_and_scale(capsys, tmp_path):
    assert "unknown model variant 'big' for space 'flexibert'; allowed: trained, flexibert, published" in _error(capsys, ["run", "--variant", "big", "--out", str(tmp_path / "x")])
    assert "unknown scale 'huge'; allowed: smoke, cpu, paper" in _error(capsys, ["run", "--scale", "huge", "--out", str(tmp_path / "y")])


def test_malformed_architecture_json(capsys, tmp_path):
    bad = tmp_path / "archs.json"
    bad.write_text("[{\"hidden_size\": 128, ")
    assert "cannot read architectures from" in _error(capsys, ["run", "--archs", str(bad), "--out", str(tmp_path / "x")])


def test_out_of_space_architecture(capsys, tmp_path):
    archs = tmp_path / "archs.json"
    layer = {"operation_type": "SA", "operation_parameter": "SDP", "num_operation_heads": 8, "feed_forward_dimension": 512, "num_feed_forward": 1}
    archs.write_text(json.dumps([{"hidden_size": 128, "encoder_layers": [layer, layer]}]))
    err = _error(capsys, ["run", "--archs", str(archs), "--out", str(tmp_path / "x")])
    assert "architecture 0: layer 0: num_operation_heads 8 is not in the FlexiBERT space; allowed: 2, 4" in err


def test_user_architecture_file_runs(tmp_path):
    archs = tmp_path / "archs.json"
    layer = {"operation_type": "DSC", "operation_parameter": 9, "num_operation_heads": 4, "feed_forward_dimension": 512, "num_feed_forward": 3}
    archs.write_text(json.dumps([{"hidden_size": 128, "encoder_layers": [layer, layer]}]))
    assert main(["run", "--archs", str(archs), "--variant", "flexibert", *SMALL, "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    rows = pd.read_csv(tmp_path / "run" / "rows.csv")
    assert (rows["status"] == "ok").all() and rows["arch_hash"].nunique() == 1


def test_unreadable_data(capsys, tmp_path):
    (tmp_path / "text" / "wikitext-2").mkdir(parents=True)
    (tmp_path / "text" / "wikitext-2" / "valid.txt").write_text("not the reference text")
    err = _error(capsys, ["run", "--archs", "3", "--data-dir", str(tmp_path), "--out", str(tmp_path / "x")])
    assert "checksum mismatch for" in err and "valid.txt" in err


def test_output_directory_with_a_different_config_is_refused(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--proxies", "params", "--limit", "2", *SMALL, "--out", str(out), "--no-progress"]) == 0
    before = (out / "rows.csv").read_text()
    err = _error(capsys, ["run", "--proxies", "params", "--limit", "3", *SMALL, "--out", str(out)])
    assert "holds a run with a different config" in err and "limit: 2 -> 3" in err
    assert (out / "rows.csv").read_text() == before


def test_bad_flag_values_exit_nonzero_with_a_usage_line(tmp_path):
    result = _bench("run", "--seed", "3-1", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "bad seed list '3-1'" in result.stderr and "Traceback" not in result.stderr
    result = _bench("run", "--jobs", "0")
    assert result.returncode == 2 and "expected a positive integer" in result.stderr


def test_correlate_errors(capsys, tmp_path):
    assert "is not a run directory" in _error(capsys, ["correlate", str(tmp_path)])
    out = tmp_path / "run"
    assert main(["run", "--proxies", "params", "--archs", "3", *SMALL, "--out", str(out), "--no-progress"]) == 0
    assert "has no ground truth" in _error(capsys, ["correlate", str(out)])


def test_list_commands(capsys):
    for what in ("proxies", "spaces", "variants", "scales"):
        assert main(["list", what]) == 0
    printed = capsys.readouterr().out
    assert "w-pca" in printed and "10,621,440" in printed and "published" in printed and "paper" in printed


def test_help_explains_with_examples():
    result = _bench("run", "--help")
    assert result.returncode == 0 and "examples:" in result.stdout and "--proxy-option" in result.stdout


# --- the device ------------------------------------------------------------------------------------

DEVICE_RUN = ["run", "--proxies", "params,v-pca,softmax-confidence,grad-norm", "--limit", "3", *SMALL, "--no-progress"]


def test_device_cpu_and_auto_give_the_default_rows_and_keep_the_config(tmp_path):
    assert main([*DEVICE_RUN, "--out", str(tmp_path / "default")]) == 0
    assert main([*DEVICE_RUN, "--device", "cpu", "--out", str(tmp_path / "cpu")]) == 0
    assert main([*DEVICE_RUN, "--device", "auto", "--out", str(tmp_path / "auto")]) == 0
    config = {name: json.loads((tmp_path / name / "manifest.json").read_text())["config"] for name in ("default", "cpu", "auto")}
    assert "device" not in config["default"] and config["cpu"] == config["default"]  # runs from before --device resume
    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert config["auto"].get("device", "cpu") == expected
    key = ["arch_hash", "proxy"]
    rows = {name: pd.read_csv(tmp_path / name / "rows.csv").sort_values(key).reset_index(drop=True) for name in config}
    pd.testing.assert_series_equal(rows["default"]["value"], rows["cpu"]["value"])
    if expected == "cpu":
        pd.testing.assert_series_equal(rows["default"]["value"], rows["auto"]["value"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line_and_writes_nothing(capsys, tmp_path):
    err = _error(capsys, [*DEVICE_RUN, "--device", "cuda", "--out", str(tmp_path / "run")])
    assert "--device cuda: no CUDA device is available here; use --device cpu" in err
    assert not (tmp_path / "run").exists()
    err = _error(capsys, ["search", "--space", "nlu-tiny", "--proxy", "v-pca", "--device", "cuda", *SMALL, "--out", str(tmp_path / "s")])
    assert "--device cuda: no CUDA device is available here" in err and not (tmp_path / "s").exists()


def test_an_unknown_device_names_the_allowed_ones(capsys, tmp_path):
    err = _error(capsys, [*DEVICE_RUN, "--device", "tpu", "--out", str(tmp_path / "run")])
    assert "unknown device 'tpu'; allowed: cpu, cuda, cuda:N, auto" in err


#: How far a proxy's value on a GPU may be from the CPU's (relative), where float32 kernels differ:
#: PCA counts may move by one component in a layer; gradient proxies sum many rounded terms.
GPU_TOLERANCE = {"default": 1e-3, "v-pca": 2e-2, "w-pca": 2e-2, "jacov": 5e-2, "epe-nas": 5e-2, "synflow": 1e-2, "grasp": 5e-2}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_every_proxy_on_the_gpu_agrees_with_the_cpu_within_its_tolerance(tmp_path):
    args = ["run", "--proxies", "all", "--limit", "4", "--scale", "smoke", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "cpu")]) == 0
    assert main([*args, "--device", "cuda", "--out", str(tmp_path / "gpu")]) == 0
    key = ["arch_hash", "proxy"]
    cpu, gpu = (pd.read_csv(tmp_path / name / "rows.csv").sort_values(key).reset_index(drop=True) for name in ("cpu", "gpu"))
    assert (cpu["status"] == gpu["status"]).all()
    for proxy, a, b in zip(cpu["proxy"], cpu["value"], gpu["value"]):
        assert b == pytest.approx(a, rel=GPU_TOLERANCE.get(proxy, GPU_TOLERANCE["default"]), nan_ok=True), proxy
