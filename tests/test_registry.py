"""Proxy registry: registration, lookup errors, selection, options, plug-ins."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import proxies
from proxies import PerLayer, ProxyContext
from proxies.registry import REGISTRY, ProxyError, ProxyRegistry, ProxySpec, register_proxy, resolve_options, select_proxies
from spaces.taps import TAP_KINDS


def _spec(name, *aliases):
    return ProxySpec(name=name, fn=lambda ctx: 0.0, aliases=aliases)


def test_duplicate_name_or_alias_is_an_error():
    registry = ProxyRegistry()
    registry._entry_points_loaded = True
    registry.register(_spec("a", "alpha"))
    with pytest.raises(ProxyError, match="'a' is already registered"):
        registry.register(_spec("a"))
    with pytest.raises(ProxyError, match="'alpha' is already registered"):
        registry.register(_spec("b", "alpha"))


def test_unknown_name_suggests_close_names_and_lists_all():
    with pytest.raises(ProxyError) as err:
        proxies.get_proxy("w-pcaa")
    message = str(err.value)
    assert message.startswith("unknown proxy 'w-pcaa'; did you mean w-pca")
    assert "known proxies: " in message and "params" in message


def test_aliases_resolve_to_the_canonical_proxy():
    assert proxies.get_proxy("wpca").name == "w-pca"
    assert proxies.get_proxy("#params").name == "params"


def test_selection_by_all_glob_and_exclude():
    names = [s.name for s in select_proxies(["all"])]
    assert {"params", "v-pca", "w-pca"} <= set(names)
    assert [s.name for s in select_proxies(["*-pca"])] == ["v-pca", "w-pca"]
    assert [s.name for s in select_proxies(["all"], ["*-pca"])] == [n for n in names if not n.endswith("-pca")]
    with pytest.raises(ProxyError, match="pattern 'zz\\*' matches no proxy"):
        select_proxies(["zz*"])
    with pytest.raises(ProxyError, match="no proxy left"):
        select_proxies(["params"], ["params"])


def test_metadata_lives_beside_the_function():
    spec = proxies.get_proxy("v-pca")
    assert spec.gradient_free and spec.taps == {"ffn_first_linear", "ffn_input"} and spec.options["eta"] == 0.99
    assert spec.description.startswith("V-PCA")
    assert proxies.get_proxy("params").needs_forward is False


def test_options_are_typed_and_checked():
    specs = select_proxies(["v-pca", "w-pca"])
    resolved = resolve_options(specs, {"w-pca.eta": "0.9"})
    assert resolved["w-pca"]["eta"] == 0.9 and resolved["v-pca"]["eta"] == 0.99
    with pytest.raises(ProxyError, match="has no option 'eps'; its options: eta, reduce"):
        resolve_options(specs, {"w-pca.eps": "1"})
    with pytest.raises(ProxyError, match="expected a float"):
        resolve_options(specs, {"w-pca.eta": "high"})
    with pytest.raises(ProxyError, match="proxy 'params' is not selected"):
        resolve_options(specs, {"params.x": "1"})


def test_decorator_registers_a_user_proxy():
    @register_proxy("test-user-proxy", label="User", taps=("block_output",), higher_is_better=False)
    def user_proxy(ctx):
        """A user's proxy."""
        return 1.0

    try:
        spec = proxies.get_proxy("test-user-proxy")
        assert spec.fn is user_proxy and spec.label == "User" and not spec.higher_is_better
        assert "test-user-proxy" in [s.name for s in select_proxies(["all"])]
    finally:
        REGISTRY.unregister("test-user-proxy")


@pytest.mark.parametrize("argument", ["taps", "tap_grads"])
def test_an_unknown_tap_is_an_error_at_registration(argument):
    with pytest.raises(ProxyError) as err:
        register_proxy("test-typo", **{argument: ("ffn_activation", "ffn_activaton")})
    message = str(err.value)
    assert f"unknown tap 'ffn_activaton' in {argument}; did you mean ffn_activation?" in message
    assert "known taps: " + ", ".join(TAP_KINDS) in message
    assert "test-typo" not in REGISTRY.names()


def test_a_per_layer_rule_is_checked_at_registration():
    with pytest.raises(ProxyError, match=r"unknown tap 'headz' in per_layer.replay; did you mean mixer_heads\? known taps: "):
        register_proxy("test-bad-rule", taps=("mixer_heads",), per_layer=PerLayer(replay=("headz",)))
    with pytest.raises(ProxyError, match="per_layer.replay names ffn_activation, which the proxy does not read"):
        register_proxy("test-bad-rule", taps=("mixer_heads",), per_layer=PerLayer(replay=("ffn_activation",)))
    with pytest.raises(ValueError, match="needs memo=, replay= or both"):
        PerLayer()


def test_a_per_layer_rule_is_part_of_the_spec():
    rule = PerLayer(replay=("block_output",))

    @register_proxy("test-rule", taps=("block_output",), per_layer=rule)
    def with_rule(ctx: ProxyContext) -> float:
        """A proxy with a rule."""
        return 0.0

    try:
        assert proxies.get_proxy("test-rule").per_layer is rule
        assert proxies.get_proxy("params").per_layer is None
    finally:
        REGISTRY.unregister("test-rule")


def test_entry_points_are_loaded(monkeypatch):
    loaded = []

    class FakeEntry:
        name, value = "demo", "demo_module"

        def load(self):
            loaded.append(True)

    registry = ProxyRegistry()
    monkeypatch.setattr("proxies.registry.entry_points", lambda group: [FakeEntry()] if group == "proxybench.proxies" else [])
    registry.names()
    registry.names()
    assert loaded == [True]


PLUGIN = textwrap.dedent(
    '''
    """A user's proxy module."""
    from proxies import register_proxy

    @register_proxy("mean-abs-output", label="Mean |output|")
    def mean_abs_output(ctx):
        """Mean absolute value of the encoder output."""
        return float(ctx.output.abs().mean())
    '''
)


def test_plugin_module_shows_up_in_the_cli_and_in_results(tmp_path, data_dir):
    (tmp_path / "my_proxies.py").write_text(PLUGIN)
    env = {"PYTHONPATH": str(tmp_path), "PROXYBENCH_OFFLINE": "1", "TQDM_DISABLE": "1", "PATH": "/usr/bin:/bin"}
    listing = subprocess.run([sys.executable, "-m", "bench", "list", "proxies", "--plugin", "my_proxies"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "mean-abs-output" in listing.stdout and "Mean absolute value of the encoder output." in listing.stdout
    out = tmp_path / "run"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--plugin", "my_proxies", "--proxies", "mean-abs-output,params", "--limit", "3",
         "--batch-size", "2", "--seq-len", "8", "--data-dir", str(data_dir), "--out", str(out), "--jobs", "2"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    rows = (out / "rows.csv").read_text().splitlines()
    plugin_rows = [r for r in rows if ",mean-abs-output," in r]
    assert len(plugin_rows) == 3 and all(",ok," in r for r in plugin_rows)


def test_missing_plugin_is_a_clear_error():
    with pytest.raises(ProxyError, match="cannot load proxy plug-in 'no_such_module_xyz'"):
        proxies.load_plugins(["no_such_module_xyz"])
