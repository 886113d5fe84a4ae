"""Train: every hyperparameter, Start/Pause/Resume/Stop/Reset, the curves as they stream in, and
inside the training: the learning rate, each part's gradients and updates, and the loss per epoch;
then the current model's positional encoding with a word-order test.

Training runs in this session's background worker (model/session.py), which also computes what
the results show; the fragment below only polls it, so clicking anything on any page never kills
a run.
"""

import time

import pandas as pd
import streamlit as st
import torch

from figures import (
    SMOOTH_SPAN,
    UPDATE_RATIO_REFERENCE,
    attention_heads,
    compare_charts,
    compare_data,
    confusion_matrix,
    curve_data,
    epoch_table,
    part_chart,
    part_data,
    positional_heatmap,
    schedule_chart,
    schedule_data,
    training_curves,
)
from figures.report import curves_figure, run_report
from model import checkpoint
from model.config import to_dict
from model.data import SMALL_TRAIN_ROWS
from model.history import RunRecord, differing
from model.inspect import InputError, positional_table, word_order
from model.settings import ON_PAGE
from model.share import ShareError
from ui import state
from ui.i18n import class_names, dataset_name, device_name, lang, loss_text, md, t, t_plain
from ui.link import describe
from ui.nav import begin_page
from ui.widgets import (
    chart_exports,
    preset_ui,
    queue_position_text,
    setting_label,
    setting_text,
    setting_ui,
    show_figure,
    spaced,
    start_training_ui,
)

begin_page()
st.title(t("train_title"))
st.markdown(t("train_intro"))

asked, ignored = state.link_notes()
if asked:
    st.info(t("link_opened", settings=describe(asked)), icon="🔗")
if ignored:
    items = "; ".join(t_plain("link_ignored_item", name=n, value=v, allowed=allowed) for n, v, allowed in ignored)
    st.warning(t("link_ignored", items=items), icon="🔗")
run, data = state.current_run(), state.current_data()
st.caption(t("train_on", name=dataset_name(data.name, data.builtin), n=len(data.train)))
if len(data.train) < SMALL_TRAIN_ROWS:  # a handful of sentences: the model learns them by heart
    st.warning(t("train_small_data", n=len(data.train), n_valid=len(data.valid)), icon="🔎")

# ---- the buttons: a row that wraps on a phone instead of a column of five -----------------------
with st.container(horizontal=True):
    if st.button(t("start"), type="primary", disabled=run.active):
        if start_training_ui():
            st.rerun()
    if run.status == "paused":
        if st.button(t("resume")):
            run.resume()
            st.rerun()
    elif st.button(t("pause"), disabled=not run.active):  # drawn while preparing, clicked while training
        run.pause()
        st.rerun()
    if st.button(t("step_once"), disabled=run.status != "paused", help=t("step_once_help")):
        run.step()  # the fragment below shows the new point within a second
    if st.button(t("stop"), disabled=not run.active, help=t("stop_help")):
        run.stop()
        run.join(5)
        st.rerun()
    # throwing a run away (a running one, or a finished one's results and download) is never one stray click
    with st.popover(t("reset"), help=t("reset_help"), disabled=run.status == "idle"):
        st.markdown(t("reset_confirm"))
        if st.button(t("reset_confirm_button"), type="primary"):
            run.reset()
            st.rerun()

CURVE_LABELS = {
    k: t(f"curve_{k}")
    for k in ("train_loss", "valid_loss", "valid_accuracy", "loss_title", "accuracy_title", "step", "loss", "accuracy")
}
CURVE_LABELS["train_loss_smooth"] = t("curve_train_loss_smooth", n=SMOOTH_SPAN)
LR_LABELS = {"lr_title": t("lr_title"), "step": t("curve_step"), "lr": t("lr_axis")}
GRAD_LABELS = {"title": t("grad_title"), "step": t("curve_step"), "value": t("grad_axis")}
UPDATE_LABELS = {
    "title": t("update_title"),
    "step": t("curve_step"),
    "value": t("update_axis"),
    "reference": t_plain("update_reference"),
}
EPOCH_LABELS = {
    "epoch": t("col_epoch"),
    "train_loss": t("curve_train_loss"),
    "valid_loss": t("curve_valid_loss"),
    "valid_accuracy": t("curve_valid_accuracy"),
    "partial": t("epoch_partial"),
}


def part_names(parts) -> dict[str, str]:
    """The shown name of each part of DiagnosticRecord: layer_1 is the app's "layer 0", as on every page."""
    names = {"embedding": t("part_embedding"), "output": t("part_output")}
    return {part: names.get(part) or t("layer_n", n=int(part.removeprefix("layer_")) - 1) for part in parts}


def inside_the_training(view) -> None:
    """The learning rate, each part's gradient norm and update size, and the loss per epoch, as the run goes."""
    st.markdown(f"**{t('inside_title')}**")
    lr_tab, grad_tab, update_tab, epoch_tab = st.tabs(
        [t("inside_tab_lr"), t("inside_tab_grad"), t("inside_tab_update"), t("inside_tab_epochs")]
    )
    lr_rows = schedule_data([(r.step, r.lr) for r in view.steps])
    lr_tab.vega_lite_chart(lr_rows, schedule_chart(LR_LABELS), width="stretch", key="lr_curve")
    lr_tab.caption(t("lr_caption"))
    names = part_names(view.diagnostics[0].grad_norms if view.diagnostics else {})
    for tab, labels, field, reference, caption in (
        (grad_tab, GRAD_LABELS, "grad_norms", None, "grad_caption"),
        (update_tab, UPDATE_LABELS, "update_ratios", UPDATE_RATIO_REFERENCE, "update_caption"),
    ):
        rows = part_data([(r.step, getattr(r, field)) for r in view.diagnostics], names)
        spec = part_chart(labels, list(names.values()), reference)
        tab.vega_lite_chart(rows, spec, width="stretch", key=f"{field}_curve")
        tab.caption(t(caption))
    if view.epochs:
        rows = [(e.epoch, e.train_loss, e.valid_loss, e.valid_accuracy, e.complete) for e in view.epochs]
        epoch_tab.dataframe(epoch_table(rows, EPOCH_LABELS), hide_index=True, height="content")
        epoch_tab.caption(t("epochs_caption"))
    else:
        epoch_tab.info(t("epochs_none"), icon="⏳")


# Once a second (every few while the run waits in the cluster's queue). Each refresh runs on the
# server beside the training thread; with Streamlit's post-run gc.collect off (.streamlit/config.toml)
# and the curve specs built once, the run keeps most of its speed with this page open
# (`python -m bench`, train_page_watched_ratio).
@st.fragment(run_every=state.poll_every(1.0))
def live() -> None:
    run.heartbeat()
    view = run.view()
    if state.run_just_ended(view.active) or state.poll_changed(view):
        st.rerun(scope="app")  # training ended (redraw the whole page with the results), or left the queue
    if view.status == "idle":
        st.info(t("train_idle"), icon="🏁")
        return
    last = view.steps[-1] if view.steps else None
    if view.status == "queued":
        st.info(t("train_queued", position=queue_position_text(view)), icon="⏳")
    elif view.status == "preparing" or last is None:
        st.progress(0.0, text=t("train_preparing"))
    else:
        fraction = min(1.0, last.step / max(1, last.total_steps))
        where = {"step": last.step, "total": last.total_steps, "epoch": last.epoch}
        left = view.seconds_left
        if view.active and left is not None:  # at the recent pace; it holds still while paused, as training does
            st.progress(fraction, text=t("train_progress", left=left, **where))
        else:
            st.progress(fraction, text=t("train_progress_ended", **where))
        # The curves first: on a phone they are what a student came to see. The specs are built
        # once; each refresh sends only the points (figures.curve_data).
        loss_rows, accuracy_rows = curve_data(
            [(r.step, r.loss) for r in view.steps],
            [(r.step, r.valid_loss, r.valid_accuracy) for r in view.evals],
            CURVE_LABELS,
        )
        loss_spec, accuracy_spec = training_curves(CURVE_LABELS)
        left_chart, right_chart = st.columns(2)
        left_chart.vega_lite_chart(loss_rows, loss_spec, width="stretch", key="loss_curve")
        right_chart.vega_lite_chart(accuracy_rows, accuracy_spec, width="stretch", key="accuracy_curve")
        if not view.active:  # the finished curves, for a slide
            chart_exports(left_chart, loss_spec, loss_rows, "loss-curve")
            chart_exports(right_chart, accuracy_spec, accuracy_rows, "accuracy-curve")
        with st.container(horizontal=True):
            st.metric(t("metric_status"), t(f"status_{view.status}"))
            st.metric(t("metric_loss"), loss_text(last.loss))
            st.metric(t("metric_accuracy"), f"{view.evals[-1].valid_accuracy:.1%}" if view.evals else "—")
            st.metric(
                t("metric_speed"),
                f"{last.step / max(last.elapsed, 1e-9):.1f}",
                help=f"{last.samples_per_second:,.0f} {t('samples_per_s')}",
            )
            st.metric(t("metric_device"), device_name(view.done.device if view.done else run_device()))
        inside_the_training(view)
    if view.status == "failed":  # a bug of ours, not the student's: its English name goes to the console too
        st.error(t("train_failed", error=view.error), icon="💥")
    elif view.status == "diverged":
        divergence = view.done.divergence or {"code": "loss_rose", "value": "?", "chance": "?", "step": view.done.steps}
        reason = t_plain(f"diverged_{divergence['code']}", **{k: v for k, v in divergence.items() if k != "code"})
        st.error(t("train_diverged", reason=reason), icon="📈")


def run_device() -> str:
    from model.trainer import pick_device

    try:
        return str(pick_device(state.settings()["device"]))
    except RuntimeError:
        return "?"


live()


# ---- settings: kept whatever page you visit, and mirrored in the address -----------------------
def settings_panel() -> None:
    if run.active:
        st.caption(t("settings_while_training"))
    preset_ui()
    # Rows of four in the table's order (model/settings.py), so that on a phone, where columns stack,
    # the settings keep their order: the model's sizes, then how it learns, then its choices.
    on_page = [setting.name for setting in ON_PAGE if setting.page == "train"]
    for start in range(0, len(on_page), 4):
        for column, name in zip(st.columns(4), on_page[start : start + 4]):
            setting_ui(column, name)
    values = state.settings()
    st.caption(t("tokenizer_from_data_page", kind=values["tokenizer"], n=values["vocab_size"]))
    st.caption(t("link_share"))


# ---- a model opened from a class code or a file: what its checkpoint says of the run that made it -----
def opened_model() -> bool:
    """The model every page now shows, when a student opened it rather than trained it: its figures and
    settings as its checkpoint records them (its curves are under Compare runs, further down). False
    when the model was not opened."""
    choice = state.current_model()
    if choice.source not in ("uploaded", "shared"):
        return False
    ckpt = choice.checkpoint
    meta = {k: v if isinstance(v, dict) else {} for k, v in ckpt.meta.items()}  # a file's tables may be anything
    metrics, baseline = meta.get("metrics", {}), meta.get("baseline", {}).get("valid_accuracy")

    def number(value, form: str) -> str:
        return form.format(value) if isinstance(value, (int, float)) else "—"

    st.divider()
    st.subheader(t("opened_title"))
    accuracy = number(metrics.get("valid_accuracy"), "{:.1%}")
    described = t(f"model_source_{choice.source}", accuracy=accuracy, code=spaced(choice.code))
    curves = t("opened_curves") if RunRecord.from_checkpoint(ckpt) is not None else t("opened_no_curves")
    st.markdown(f"{described} {t('opened_intro')} {curves}")
    with st.container(horizontal=True):
        st.metric(t("metric_accuracy"), accuracy)
        st.metric(t("metric_baseline"), number(baseline, "{:.1%}"), help=t("metric_baseline_help"))
        st.metric(t("metric_valid_loss"), number(metrics.get("valid_loss"), "{:.4f}"))
        st.metric(t("metric_steps"), number(metrics.get("steps"), "{:,}"))
        st.metric(t("metric_seconds"), number(metrics.get("train_seconds"), "{:.1f} s"))
    recorded = {**to_dict(ckpt.model.cfg), **meta.get("training", {})}
    settings = {setting_label(k): setting_text(k, v) for k, v in recorded.items()}
    with st.expander(t("opened_settings"), icon="⚙️"):
        st.table(pd.DataFrame({t_plain("opened_value"): list(settings.values())}, index=list(settings)))
    return True


# Before the settings: a student who opened the class's model came to see it, not to train (yet).
opened = opened_model()


if not state.presenting():  # presenter mode shows the run, not the knobs
    with st.expander(t("settings_title"), expanded=not run.active and not opened):
        settings_panel()


def share_with_the_class(pressed: bool, since: float) -> None:
    """The run's model under a class code: the code to read aloud, and the link that opens it."""
    from ui.errors import error_text

    already = state.kept("shared_by_me")
    if pressed and not (already and already["since"] == since):  # one code a model: pressed again, the same code
        try:
            state.share_run_model()
        except (ShareError, checkpoint.CheckpointError) as exc:
            st.error(t("share_failed", error=error_text(exc)), icon="🚫")
            return
    shared = state.kept("shared_by_me")
    if not shared or shared["since"] != since:  # shared before this run: not this model
        return
    until = time.strftime("%Y-%m-%d", time.localtime(shared["expires"]))
    st.success(t("share_done", code=spaced(shared["code"]), until=until), icon="📣")
    big = "font-size: 3rem; font-weight: 700; letter-spacing: 0.25em; font-family: monospace; margin: 0"
    st.markdown(f"<p style='{big}'>{spaced(shared['code'])}</p>", unsafe_allow_html=True)
    st.code(state.shared_link(shared["code"]), language=None)


def curves_csv(view) -> str:
    """The run's curves, a row a step: its batch's training loss, and the validation figures where it was evaluated."""
    steps = pd.DataFrame(
        [(r.step, r.epoch, r.loss, r.lr) for r in view.steps], columns=["step", "epoch", "train_loss", "lr"]
    )
    evals = pd.DataFrame(
        [(r.step, r.valid_loss, r.valid_accuracy) for r in view.evals], columns=["step", "valid_loss", "valid_accuracy"]
    )
    return steps.merge(evals, on="step", how="outer").sort_values("step").to_csv(index=False)


def run_report_html(view) -> str:
    """One HTML file of the run (settings, figures, curves, confusion matrix, the probe sentences' attention)
    that opens with no network: for a teacher's records or a slide."""
    ckpt, done = view.checkpoint, view.done
    meta = ckpt.meta
    shown = class_names(ckpt.label_names)
    baseline = (meta.get("baseline") or {}).get("valid_accuracy")
    results = {
        t_plain("metric_accuracy"): f"{done.valid_accuracy:.1%}",
        t_plain("metric_baseline"): "—" if baseline is None else f"{baseline:.1%}",
        t_plain("metric_valid_loss"): f"{done.valid_loss:.4f}",
        t_plain("metric_steps"): str(done.steps),
        t_plain("metric_seconds"): f"{done.train_seconds:.1f} s",
    }
    settings = {**to_dict(ckpt.model.cfg), **(meta.get("training") or {})}
    settings = {setting_label(k): setting_text(k, v) for k, v in settings.items()}
    sections = [
        (t_plain("results_title"), pd.DataFrame({"": list(results.values())}, index=list(results))),
        (t_plain("settings_title"), pd.DataFrame({"": list(settings.values())}, index=list(settings))),
    ]
    history = meta.get("history") or {}
    labels = {
        "step": t_plain("curve_step"),
        "loss": t_plain("runs_loss_axis"),
        "accuracy": t_plain("metric_accuracy"),
        "train": t_plain("runs_train_loss", n=SMOOTH_SPAN),
        "valid": t_plain("metric_valid_loss"),
    }
    sections.append(
        (t_plain("runs_loss_title"), curves_figure(history.get("steps", []), history.get("evals", []), labels))
    )
    predicted = view.predictions or []
    if view.valid is not None and len(predicted) == len(view.valid):
        titles = {"predicted": t_plain("predicted"), "true": t_plain("true_label")}
        names = list(shown.values())
        sections.append((t_plain("confusion_title"), confusion_matrix(names, view.valid.labels, predicted, titles)))
    if view.snapshots:
        last = view.snapshots[-1]
        heads = [t_plain("head_n", n=h) for h in range(ckpt.model.cfg.n_heads)]
        axes = dict(query_title=t_plain("query_axis"), key_title=t_plain("key_token"))
        for sentence, tokens, weights in zip(last.sentences, last.tokens, last.weights):
            figure = attention_heads(torch.tensor(weights[-1]), tokens, heads, **axes)
            heading = t_plain("report_probe_attention", sentence=sentence, layer=len(weights) - 1)
            sections.append((heading, figure))
    subtitle = t_plain(
        "report_subtitle",
        date=time.strftime("%Y-%m-%d %H:%M"),
        dataset=str((meta.get("dataset") or {}).get("description", "")),
        device=device_name(done.device),
    )
    return run_report(t_plain("report_title"), subtitle, sections, lang())


# ---- results: computed by the worker when the run ended ----------------------------------------
view = run.view()
if view.checkpoint is not None and not view.active:
    st.divider()
    st.subheader(t("results_title"))
    done = view.done
    baseline = (view.checkpoint.meta.get("baseline") or {}).get("valid_accuracy")
    with st.container(horizontal=True):
        st.metric(t("metric_accuracy"), f"{done.valid_accuracy:.1%}")
        st.metric(t("metric_baseline"), "—" if baseline is None else f"{baseline:.1%}", help=t("metric_baseline_help"))
        st.metric(t("metric_valid_loss"), loss_text(done.valid_loss))
        st.metric(t("metric_steps"), done.steps)
        st.metric(t("metric_seconds"), f"{done.train_seconds:.1f} s")
    if baseline is not None:
        lead = round(round(100 * done.valid_accuracy, 1) - round(100 * baseline, 1), 1)  # as the metrics show them
        verdict = "baseline_ahead" if lead >= 1 else "baseline_behind" if lead <= -1 else "baseline_even"
        st.caption(t(verdict, points=f"{max(abs(lead), 1):.1f}"))
    if done.reason == "stopped":
        st.caption(t("train_stopped_note"))
    if view.archive is not None:
        with st.container(horizontal=True):
            st.download_button(
                t("download_checkpoint"),
                view.archive,
                file_name="transformer-checkpoint.zip",
                mime="application/zip",
                icon="💾",
            )
            share = st.button(t("share_button"), icon="📣", help=t("share_help"))
            st.download_button(
                t("export_report"),
                data=lambda: run_report_html(view).encode("utf-8"),
                file_name="training-run-report.html",
                mime="text/html",
                icon="📄",
                on_click="ignore",
                help=t("export_report_help"),
            )
            st.download_button(
                t("export_curves_csv"),
                data=lambda: curves_csv(view),
                file_name="training-curves.csv",
                mime="text/csv",
                icon="📈",
                on_click="ignore",
                help=t("export_curves_csv_help"),
            )
        share_with_the_class(share, view.started_at)
    ckpt = view.checkpoint
    predicted = view.predictions or []
    valid = view.valid if view.valid is not None and len(predicted) == len(view.valid) else None
    if valid is not None:
        left, right = st.columns([2, 3])
        titles = {"predicted": t("predicted"), "true": t("true_label")}
        shown = list(class_names(ckpt.label_names).values())
        left.markdown(f"**{t('confusion_title')}**")
        show_figure(left, confusion_matrix(shown, valid.labels, predicted, titles), title=t_plain("confusion_title"))
        wrong = [(text, shown[y], shown[p]) for text, y, p in zip(valid.texts, valid.labels, predicted) if y != p]
        right.markdown(f"**{t('misclassified_title', n=len(wrong), total=len(predicted))}**")
        if wrong:
            # A static table wraps each sentence whole; the first ones, longest-wrong first would hide the short.
            limit = 25
            columns = [t("col_text"), t("true_label"), t("predicted")]
            right.table(pd.DataFrame(wrong[:limit], columns=columns).set_index(columns[0]))
            if len(wrong) > limit:
                right.caption(t("misclassified_more", shown=limit, n=len(wrong)))
        else:  # an empty table would show Streamlit's own "empty", in English whatever the language
            right.success(t("misclassified_none"), icon="✅")


# ---- runs side by side: the session's last runs, and a loaded model's own curves --------------------
def compare_runs() -> None:
    runs: dict[int, tuple[str, RunRecord]] = {}
    for number, record in state.past_runs():
        accuracy = record.metrics.get("valid_accuracy")
        shown = "—" if accuracy is None else f"{accuracy:.1%}"
        runs[number] = (t_plain("runs_run_name", n=number, accuracy=shown), record)
    choice = state.current_model()
    if choice.source in ("uploaded", "shared"):  # its checkpoint carries the run that made it
        ckpt = choice.checkpoint
        record = RunRecord.from_checkpoint(ckpt)
        if record is not None:
            runs[0] = (t_plain(f"runs_model_{choice.source}", code=spaced(choice.code)), record)
    if not runs:
        return
    with st.expander(t("runs_title", n=len(runs)), icon="📊", expanded=len(runs) > 1 or 0 in runs):
        options = list(runs)
        # What is kept is the runs taken off the charts: a run that finishes later is on them.
        hidden = set(state.kept("compare_hidden", []))
        widget_key = "compare_runs_" + "_".join(map(str, options))

        def changed() -> None:
            state.keep("compare_hidden", sorted(set(options) - set(st.session_state[widget_key])))

        st.session_state[widget_key] = [n for n in options if n not in hidden]
        chosen = st.multiselect(
            t("runs_choose"), options, format_func=lambda n: runs[n][0], key=widget_key, on_change=changed
        )
        if not chosen:
            st.info(t("runs_none"), icon="📊")
            return
        names, records = [runs[n][0] for n in chosen], [runs[n][1] for n in chosen]
        labels = {
            "loss_title": t_plain("runs_loss_chart_title", n=SMOOTH_SPAN),
            "accuracy_title": t_plain("runs_accuracy_title"),
            "step": t_plain("curve_step"),
            "loss": t_plain("runs_loss_axis"),
            "accuracy": t_plain("metric_accuracy"),
            "train": t_plain("runs_train_loss", n=SMOOTH_SPAN),
            "valid": t_plain("metric_valid_loss"),
        }
        loss_chart, accuracy_chart = compare_charts(*compare_data(records, names, labels), labels)
        left, right = st.columns(2)
        left.altair_chart(loss_chart, width="stretch")
        right.altair_chart(accuracy_chart, width="stretch")
        chart_exports(left, loss_chart.to_dict(), None, "compared-loss")
        chart_exports(right, accuracy_chart.to_dict(), None, "compared-accuracy")
        differ = differing(records)
        metrics = [
            ("metric_accuracy", "valid_accuracy", "{:.1%}"),
            ("metric_valid_loss", "valid_loss", "{:.4f}"),
            ("metric_steps", "steps", "{}"),
            ("metric_seconds", "train_seconds", "{:.1f} s"),
        ]
        rows = {
            t_plain(key): [pattern.format(r.metrics[name]) if name in r.metrics else "—" for r in records]
            for key, name, pattern in metrics
        }
        for name in differ:
            rows[setting_label(name)] = [
                setting_text(name, r.settings[name]) if name in r.settings else "—" for r in records
            ]
        table = pd.DataFrame.from_dict(rows, orient="index", columns=names)
        st.table(table)
        if len(records) > 1:
            st.caption(t("runs_differ", n=len(differ)) if differ else t("runs_same"))
        else:
            st.caption(t("runs_one"))


compare_runs()


# ---- the current model's positions, and a word-order test (folded: the page stays short on a phone) -----
def positions_and_word_order() -> None:
    choice = state.current_model()
    ckpt, cfg = choice.checkpoint, choice.checkpoint.model.cfg
    metrics = ckpt.meta.get("metrics")
    accuracy = metrics.get("valid_accuracy") if isinstance(metrics, dict) else None
    source = "model_source_bundled_short" if choice.source == "bundled" else f"model_source_{choice.source}"
    st.markdown(t("positions_intro"))
    st.caption(t(source, accuracy="—" if accuracy is None else f"{accuracy:.1%}", code=spaced(choice.code)))
    sides = st.columns(2)
    sentences = [  # kept per language, so that each starts from its own pair ("not good" / "不好")
        column.text_input(
            t(f"word_order_{key}"),
            max_chars=200,
            **state.text_binding(f"word_order_{key}_{lang()}", f"word_order_{key}_default"),
        )
        for column, key in zip(sides, "ab")
    ]
    try:
        test = word_order(ckpt, *sentences)
    except InputError:
        st.warning(t("empty_sentence"))
    else:
        shown = class_names(ckpt.label_names)
        for column, result in zip(sides, (test.first, test.second)):
            probs = ", ".join(f"{shown[n]} {p:.1%}" for n, p in zip(result.label_names, result.probabilities))
            column.metric(t("prediction"), shown[result.prediction], help=md(probs))
            column.caption(md(probs))
        same = test.same_tokens
        st.caption(t("word_order_same", change=f"{test.largest_change:.1%}") if same else t("word_order_not_same"))
    st.markdown(f"**{t('positional_title', n=cfg.max_len, d=cfg.d_model)}**")
    table = positional_table(ckpt.model)
    figure = positional_heatmap(table, t_plain("positional_position"), t_plain("positional_dimension"))
    show_figure(st, figure, title=t_plain("positional_title", n=cfg.max_len, d=cfg.d_model))
    st.caption(t(f"positional_caption_{cfg.positional}"))


# Drawn only while open: its figure and two forward passes were the larger part of every run of the page.
positions = st.expander(t("positions_title"), icon="🔀", key="positions_open", on_change="rerun")
if positions.open:
    with positions:
        positions_and_word_order()

st.divider()
st.subheader(t("upload_checkpoint_title"))
uploaded = st.file_uploader(t("upload_checkpoint"), type=["zip"], help=t("upload_checkpoint_help"))
if uploaded is not None and st.button(t("load_checkpoint")):
    try:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            loaded = checkpoint.from_zip(uploaded.getvalue(), tmp)
    except checkpoint.CheckpointError as exc:
        from ui.errors import error_text

        st.error(t("checkpoint_error", error=error_text(exc)), icon="🚫")  # the current model stays
    else:
        state.set_model(loaded, "uploaded")
        st.success(t("checkpoint_loaded", labels=", ".join(loaded.label_names)))
