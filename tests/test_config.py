import pytest

from model.config import PRESETS, ConfigError, ModelConfig, TrainConfig, preset


def test_messages_a_student_can_act_on():
    with pytest.raises(ConfigError, match="d_model 30 is not divisible by 4 heads"):
        ModelConfig(d_model=30, n_heads=4)
    with pytest.raises(ConfigError, match="n_layers 0 is out of range: choose 1 to 24"):
        ModelConfig(n_layers=0)
    with pytest.raises(ConfigError, match="dropout must be a number"):
        ModelConfig(dropout="lots")
    with pytest.raises(ConfigError, match="pooling must be one of mean, cls; got 'max'"):
        ModelConfig(pooling="max")
    with pytest.raises(ConfigError, match="batch_size 0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        preset("huge")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        preset("tiny", colour=1)


def test_presets_are_valid_and_ordered_by_size():
    sizes = []
    for name in PRESETS:
        model_cfg, train_cfg = preset(name)
        sizes.append(model_cfg.d_model * model_cfg.n_layers)
        assert model_cfg.vocab_size == train_cfg.vocab_size
    assert sizes == sorted(sizes)
    assert preset("small") == (ModelConfig(), TrainConfig())


def test_overrides_apply_to_the_right_config():
    model_cfg, train_cfg = preset("tiny", epochs=3, pooling="mean", lr=None)
    assert train_cfg.epochs == 3 and model_cfg.pooling == "mean" and train_cfg.lr == preset("tiny")[1].lr


@pytest.mark.parametrize(
    "build, code, values",
    [
        (lambda: ModelConfig(d_model=30, n_heads=4), "not_divisible", {"d_model": 30, "n_heads": 4, "suggestion": 32}),
        (lambda: ModelConfig(n_layers=0), "out_of_range", {"setting": "n_layers", "value": 0, "low": 1, "high": 24}),
        (lambda: ModelConfig(dropout="lots"), "not_a_number", {"setting": "dropout", "value": "'lots'"}),
        (lambda: TrainConfig(epochs=2.5), "not_whole_number", {"setting": "epochs", "value": "2.5"}),
        (
            lambda: TrainConfig(device="tpu"),
            "not_a_choice",
            {"setting": "device", "value": "'tpu'", "choices": "auto, cpu, cuda, mps"},
        ),
        (lambda: preset("huge"), "unknown_preset", {"preset": "huge", "choices": "tiny, small, base"}),
    ],
)
def test_errors_carry_a_code_and_the_values_of_their_sentence(build, code, values):
    """The app words the code in the page's language with these values; str() stays the command line's English."""
    with pytest.raises(ConfigError) as err:
        build()
    assert (err.value.code, err.value.values) == (code, values)
