"""Train: every hyperparameter, Start/Pause/Resume/Stop/Reset, and the curves as they stream in.

Training runs in this session's background worker (model/session.py); the fragment below only
polls it, so clicking anything on any page never kills a run.
"""

import tempfile

import pandas as pd
import streamlit as st
import torch

from figures import SMOOTH_SPAN, confusion_matrix, curve_data, training_curves
from model import checkpoint
from model.config import PRESETS, ConfigError, ModelConfig, TrainConfig, preset
from model.data import builtin_names
from model.session import PROBE_SENTENCES, ServerBusy
from model.trainer import EncodedSet, evaluate
from pages import link
from pages.common import (
    ACTIVATION_NAMES,
    DEFAULT_DATASET,
    DataChoice,
    begin_page,
    builtin_dataset,
    class_names,
    current_data,
    current_run,
    is_chinese,
    lang,
    loss_text,
    remember_widget_state,
    set_model,
    t,
    t_plain,
)

begin_page()
st.title(t("train_title"))
st.markdown(t("train_intro"))
DEVICES = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SETTINGS = link.CHOICES  # what each widget offers: a shared link may only pick among these


# Where each setting a link can carry lives in this session (the dataset is kept as a DataChoice).
STATE_KEYS = {"preset": "preset", **{k: f"hp_{k}" for k in (*link.MODEL_SETTINGS, *link.TRAIN_SETTINGS)},
              "tokenizer": "tokenizer_kind", "vocab_size": "vocab_size"}  # fmt: skip


def apply_preset() -> None:
    for name, value in link.preset_values(st.session_state["preset"] or link.DEFAULTS["preset"]).items():
        st.session_state[STATE_KEYS[name]] = value


def open_link() -> None:
    """A session's first visit: start from the settings in the address, if it has any (pages/link.py)."""
    asked, ignored = link.read(st.query_params.to_dict(), builtin_names())
    st.session_state["preset"] = asked.get("preset", link.DEFAULTS["preset"])
    apply_preset()
    for name, value in asked.items():
        if name in STATE_KEYS:
            st.session_state[STATE_KEYS[name]] = value
    if "dataset" in asked:
        ds = builtin_dataset(asked["dataset"])
        st.session_state["data"] = DataChoice(ds.train, ds.valid, ds.name, True)
    st.session_state["link_notes"] = (asked, ignored)


def keep_link() -> None:
    """Keep the address in step with the settings, so that it can be shared at any moment."""
    data = current_data()
    settings = {name: st.session_state.get(key) for name, key in STATE_KEYS.items()}
    settings["dataset"] = data.name if data.builtin else None
    wanted = link.write(settings, DEFAULT_DATASET[lang()])
    if lang() != "en":  # the language decides the default dataset, and what the reader sees
        wanted["lang"] = lang()
    for key in link.ORDER:
        if key not in wanted:
            st.query_params.pop(key, None)
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def device_name(device: str) -> str:
    """As the Train page writes a device: cpu → CPU, cuda:0 → GPU (CUDA), auto in the page's language."""
    return {"auto": t("device_auto"), "cpu": "CPU", "cuda": "GPU (CUDA)"}.get(device.split(":")[0], device)


if "hp_d_model" not in st.session_state:
    open_link()
asked, ignored = st.session_state.pop("link_notes", ({}, []))
if asked:
    st.info(t("link_opened", settings=link.describe(asked)), icon="🔗")
if ignored:
    items = "; ".join(t_plain("link_ignored_item", name=n, value=v, allowed=allowed) for n, v, allowed in ignored)
    st.warning(t("link_ignored", items=items), icon="🔗")
run, data = current_run(), current_data()
st.caption(t("train_on", name=t(f"dataset_{data.name}") if data.builtin else data.name, n=len(data.train)))

with st.expander(t("settings_title"), expanded=not run.active and run.status == "idle"):
    st.segmented_control(t("preset"), list(PRESETS), key="preset", on_change=apply_preset,
                         format_func={p: t(f"preset_{p}") for p in PRESETS}.__getitem__, help=t("preset_help"))  # fmt: skip
    # One row of columns for each group, so that on a phone, where columns stack, the settings keep
    # their order: the model's sizes, then how it learns, then its choices.
    c1, c2, c3, c4 = st.columns(4)
    c1.select_slider(t("hp_n_layers"), SETTINGS["n_layers"], key="hp_n_layers", help=t("hp_n_layers_help"))
    c2.select_slider(t("hp_n_heads"), SETTINGS["n_heads"], key="hp_n_heads", help=t("hp_n_heads_help"))
    c3.select_slider(t("hp_d_model"), SETTINGS["d_model"], key="hp_d_model", help=t("hp_d_model_help"))
    c4.select_slider(t("hp_d_ff"), SETTINGS["d_ff"], key="hp_d_ff", help=t("hp_d_ff_help"))
    c1, c2, c3, c4 = st.columns(4)
    c1.slider(t("hp_dropout"), 0.0, 0.5, step=0.05, key="hp_dropout", help=t("hp_dropout_help"))
    c2.select_slider(t("hp_lr"), SETTINGS["lr"], key="hp_lr", help=t("hp_lr_help"), format_func=lambda v: f"{v:g}")
    c3.select_slider(t("hp_batch_size"), SETTINGS["batch_size"], key="hp_batch_size", help=t("hp_batch_size_help"))
    c4.number_input(t("hp_epochs"), *link.RANGES["epochs"], key="hp_epochs", help=t("hp_epochs_help"))
    c1, c2, c3, c4 = st.columns(4)
    c1.radio(t("hp_positional"), SETTINGS["positional"], key="hp_positional", help=t("hp_positional_help"),
             format_func={v: t(f"positional_{v}") for v in SETTINGS["positional"]}.__getitem__)  # fmt: skip
    c2.radio(t("hp_pooling"), SETTINGS["pooling"], key="hp_pooling", help=t("hp_pooling_help"),
             format_func={v: t(f"pooling_{v}") for v in SETTINGS["pooling"]}.__getitem__)  # fmt: skip
    c3.radio(t("hp_activation"), SETTINGS["activation"], key="hp_activation", help=t("hp_activation_help"),
             format_func=ACTIVATION_NAMES.__getitem__)  # fmt: skip
    c4.number_input(t("hp_seed"), *link.RANGES["seed"], key="hp_seed", help=t("hp_seed_help"))
    st.radio(t("hp_device"), DEVICES, key="hp_device", help=t("hp_device_help"), horizontal=True,
             format_func={d: device_name(d) for d in DEVICES}.__getitem__)  # fmt: skip
    st.caption(t("tokenizer_from_data_page", kind=st.session_state.get("tokenizer_kind", link.DEFAULTS["tokenizer"]),
                 n=st.session_state.get("vocab_size", link.DEFAULTS["vocab_size"])))  # fmt: skip
    st.caption(t("link_share"))
keep_link()


def configs() -> tuple[ModelConfig, TrainConfig]:
    s = st.session_state
    model_cfg = ModelConfig(d_model=s.hp_d_model, n_heads=s.hp_n_heads, n_layers=s.hp_n_layers, d_ff=s.hp_d_ff,
                            dropout=float(s.hp_dropout), positional=s.hp_positional, pooling=s.hp_pooling,
                            activation=s.hp_activation, max_len=preset(s.preset or link.DEFAULTS["preset"])[0].max_len)  # fmt: skip
    train_cfg = TrainConfig(epochs=int(s.hp_epochs), batch_size=s.hp_batch_size, lr=float(s.hp_lr), seed=int(s.hp_seed),
                            device=s.get("hp_device", "auto"), vocab_size=s.get("vocab_size", link.DEFAULTS["vocab_size"]),
                            tokenizer=s.get("tokenizer_kind", link.DEFAULTS["tokenizer"]))  # fmt: skip
    return model_cfg, train_cfg


b1, b2, b3, b4, b5 = st.columns(5)
if b1.button(t("start"), type="primary", disabled=run.active, width="stretch"):
    try:
        model_cfg, train_cfg = configs()
        probes = PROBE_SENTENCES["zh" if is_chinese(data) else "en"]
        run.start(data.train, data.valid, model_cfg, train_cfg, probes, data.name)
        st.rerun()
    except ConfigError as exc:
        st.error(t("settings_error", error=str(exc)), icon="⚙️")
    except ServerBusy:
        st.error(t("server_busy"), icon="⏳")
if run.status == "paused":
    if b2.button(t("resume"), width="stretch"):
        run.resume()
        st.rerun()
elif b2.button(t("pause"), disabled=not run.active, width="stretch"):  # drawn while preparing, clicked while training
    run.pause()
    st.rerun()
if b3.button(t("step_once"), disabled=run.status != "paused", width="stretch", help=t("step_once_help")):
    run.step()  # the fragment below shows the new point within a second
if b4.button(t("stop"), disabled=not run.active, width="stretch"):
    run.stop()
    run.join(5)
    st.rerun()
if b5.button(t("reset"), disabled=run.status == "idle", width="stretch", help=t("reset_help")):
    run.reset()
    st.rerun()


CURVE_LABELS = {k: t(f"curve_{k}") for k in ("train_loss", "valid_loss", "valid_accuracy", "loss_title",
                                             "accuracy_title", "step", "loss", "accuracy")}  # fmt: skip
CURVE_LABELS["train_loss_smooth"] = t("curve_train_loss_smooth", n=SMOOTH_SPAN)


# Once a second. Each refresh runs on the server beside the training thread; with Streamlit's
# post-run gc.collect off (.streamlit/config.toml) and the curve specs built once, the run keeps
# 0.93-0.98 of its speed with this page open (`python -m bench`, train_page_watched_ratio).
@st.fragment(run_every=1.0 if run.active else None)
def live() -> None:
    run.heartbeat()
    view = run.view()
    if st.session_state.get("was_active") and not view.active:
        st.session_state["was_active"] = False
        st.rerun(scope="app")  # training ended: redraw the whole page with the results
    st.session_state["was_active"] = view.active
    if view.status == "idle":
        st.info(t("train_idle"), icon="🏁")
        return
    last = view.steps[-1] if view.steps else None
    if view.status == "preparing" or last is None:
        st.progress(0.0, text=t("train_preparing"))
    else:
        fraction = min(1.0, last.step / max(1, last.total_steps))
        where = {"step": last.step, "total": last.total_steps, "epoch": last.epoch}
        if view.active:  # time left at the pace so far; it holds still while paused, as training does
            left = last.elapsed / max(fraction, 1e-9) * (1 - fraction)
            st.progress(fraction, text=t("train_progress", left=left, **where))
        else:
            st.progress(fraction, text=t("train_progress_ended", **where))
        m1, m2, m3, m4, m5 = st.columns(5)
        m1.metric(t("metric_status"), t(f"status_{view.status}"))
        m2.metric(t("metric_loss"), loss_text(last.loss))
        m3.metric(t("metric_accuracy"), f"{view.evals[-1].valid_accuracy:.1%}" if view.evals else "—")
        m4.metric(t("metric_speed"), f"{last.step / max(last.elapsed, 1e-9):.1f}",
                  help=f"{last.samples_per_second:,.0f} {t('samples_per_s')}")  # fmt: skip
        m5.metric(t("metric_device"), device_name(view.done.device if view.done else run_device()))
        # The specs are built once; each refresh sends only the points (figures.curve_data).
        loss_rows, accuracy_rows = curve_data([(r.step, r.loss) for r in view.steps],
                                              [(r.step, r.valid_loss, r.valid_accuracy) for r in view.evals],
                                              CURVE_LABELS)  # fmt: skip
        loss_spec, accuracy_spec = training_curves(CURVE_LABELS)
        left, right = st.columns(2)
        left.vega_lite_chart(loss_rows, loss_spec, width="stretch", key="loss_curve")
        right.vega_lite_chart(accuracy_rows, accuracy_spec, width="stretch", key="accuracy_curve")
    if view.status == "failed":
        st.error(t("train_failed", error=view.error), icon="💥")
    elif view.status == "diverged":
        st.error(t("train_diverged", reason=view.done.reason), icon="📈")


def run_device() -> str:
    from model.trainer import pick_device

    try:
        return str(pick_device(st.session_state.get("hp_device", "auto")))
    except RuntimeError:
        return "?"


live()

view = run.view()
if view.checkpoint is not None and not view.active:
    st.divider()
    st.subheader(t("results_title"))
    done = view.done
    baseline = (view.checkpoint.meta.get("baseline") or {}).get("valid_accuracy")
    r1, r2, r3, r4, r5 = st.columns(5)
    r1.metric(t("metric_accuracy"), f"{done.valid_accuracy:.1%}")
    r2.metric(t("metric_baseline"), "—" if baseline is None else f"{baseline:.1%}", help=t("metric_baseline_help"))
    r3.metric(t("metric_valid_loss"), loss_text(done.valid_loss))
    r4.metric(t("metric_steps"), done.steps)
    r5.metric(t("metric_seconds"), f"{done.train_seconds:.1f} s")
    if baseline is not None:
        lead = round(round(100 * done.valid_accuracy, 1) - round(100 * baseline, 1), 1)  # as the metrics show them
        verdict = "baseline_ahead" if lead >= 1 else "baseline_behind" if lead <= -1 else "baseline_even"
        st.caption(t(verdict, points=f"{max(abs(lead), 1):.1f}"))
    if done.reason == "stopped":
        st.caption(t("train_stopped_note"))
    ckpt = view.checkpoint
    # Computed once per finished run, not on every rerun of this page: predictions and the zip.
    if st.session_state.get("results_of") != view.started_at:
        encoded = EncodedSet.build(data.valid, ckpt.tokenizer, ckpt.model.cfg.max_len)
        _, _, predicted = evaluate(ckpt.model, encoded, torch.device("cpu"))
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint.save(tmp, ckpt)
            st.session_state["checkpoint_zip"] = checkpoint.to_zip(tmp)
        st.session_state["results_of"], st.session_state["predictions"] = view.started_at, predicted.tolist()
    predicted = st.session_state["predictions"]
    if len(predicted) == len(data.valid):
        left, right = st.columns([2, 3])
        titles = {"predicted": t("predicted"), "true": t("true_label")}
        shown = list(class_names(ckpt.label_names).values())
        left.markdown(f"**{t('confusion_title')}**")
        left.plotly_chart(confusion_matrix(shown, data.valid.labels, predicted, titles), width="stretch")
        wrong = [(text, shown[y], shown[p])
                 for text, y, p in zip(data.valid.texts, data.valid.labels, predicted) if y != p]  # fmt: skip
        right.markdown(f"**{t('misclassified_title', n=len(wrong), total=len(predicted))}**")
        if wrong:
            columns = [t("col_text"), t("true_label"), t("predicted")]
            right.dataframe(pd.DataFrame(wrong, columns=columns), hide_index=True, height="auto", width="stretch",
                            column_config={columns[0]: st.column_config.TextColumn(width=320)})  # fmt: skip
        else:  # an empty table would show Streamlit's own "empty", in English whatever the language
            right.success(t("misclassified_none"), icon="✅")
    st.download_button(t("download_checkpoint"), st.session_state["checkpoint_zip"], file_name="transformer-checkpoint.zip",
                       mime="application/zip", icon="💾")  # fmt: skip

st.divider()
st.subheader(t("upload_checkpoint_title"))
uploaded = st.file_uploader(t("upload_checkpoint"), type=["zip"], help=t("upload_checkpoint_help"))
if uploaded is not None and st.button(t("load_checkpoint")):
    try:
        with tempfile.TemporaryDirectory() as tmp:
            loaded = checkpoint.from_zip(uploaded.getvalue(), tmp)
    except checkpoint.CheckpointError as exc:
        st.error(t("checkpoint_error", error=str(exc)), icon="🚫")  # the current model stays
    else:
        set_model(loaded, "uploaded")
        st.success(t("checkpoint_loaded", labels=", ".join(loaded.label_names)))

remember_widget_state()
