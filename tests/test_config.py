import pytest

from model.config import PRESETS, ConfigError, ModelConfig, TrainConfig, preset


def test_messages_a_student_can_act_on():
    with pytest.raises(ConfigError, match="d_model 30 is not divisible by 4 heads"):
        ModelConfig(d_model=30, n_heads=4)
    with pytest.raises(ConfigError, match="n_layers 0 is out of range: choose 1 to 24"):
        ModelConfig(n_layers=0)
    with pytest.raises(ConfigError, match="dropout must be a number"):
        ModelConfig(dropout="lots")
    with pytest.raises(ConfigError, match="pooling must be 'mean' or 'cls'"):
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
