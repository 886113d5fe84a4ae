"""Labelled sentences: the built-in datasets in ``assets/datasets`` and the user's own files.

A user file is CSV, TSV or JSONL with a text column and a label column (named, or detected when
unambiguous), with or without a header; labels are strings or integers; 2 to 20 classes; UTF-8,
with a fallback to Windows-1252. Every problem is a ``DataError`` naming what is wrong and where.
"""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DATASETS_DIR = ASSETS / "datasets"

MAX_CLASSES = 20
MAX_FILE_BYTES = 50 * 2**20  # 50 MB: large enough for 100k+ sentences, small enough for a class server
MAX_ROWS = 200_000
MIN_TRAIN_ROWS = 4  # fewer than this left for training after the hold-out is no dataset at all
SMALL_TRAIN_ROWS = 200  # under this many training sentences a Transformer learns them by heart
TEXT_NAMES = ("text", "sentence", "review", "content", "comment", "document", "文本", "句子", "评论")
LABEL_NAMES = ("label", "labels", "sentiment", "class", "category", "target", "y", "标签", "类别")

# The English sentence of each DataError, as the command line prints it. The app words the same
# code in the page's language (assets/i18n: error_<code>), naming its own boxes where this names flags.
MESSAGES = {
    "unknown_dataset": "no built-in dataset named {dataset!r}: choose one of {choices}",
    "empty_file": "{name} is empty",
    "binary_file": "{name} looks like a binary file, not CSV, TSV or JSONL text",
    "bad_encoding": "{name}, line {line}: the text is neither UTF-8 nor Windows-1252; save it as UTF-8",
    "no_such_file": "{name} does not exist",
    "file_too_big": "{name} is {mb:.1f} MB; the limit is {limit:.0f} MB",
    "no_rows": "{name} has no rows",
    "too_many_rows": "{name} has {rows:,} rows; the limit is {limit:,}",
    "empty_text": "{name}, line {line}: the text is empty",
    "empty_label": "{name}, line {line}: the label is empty",
    "label_not_text": "{name}, line {line}: the label {label} is not a string or an integer",
    "one_column_comma": "{name}, line {line}: found 1 column; expected a text and a label separated by a comma",
    "one_column_tab": "{name}, line {line}: found 1 column; expected a text and a label separated by a tab",
    "column_count": "{name}, line {line}: {found} columns where the first row has {width}",
    "unclosed_quote": '{name}, line {line}: a quote (") opens here and is never closed, so the rest of the file '
    "reads as one cell; close it or remove it",
    "quote_runs_on": '{name}, line {line}: a quote (") opens here and runs on to line {closes}; '
    "close it on line {line} or remove it",
    "csv_error": "{name}, line {line}: {detail}",
    "cell_too_long": "{name}, line {line}: a cell is longer than {limit:,} characters",
    "bad_json": "{name}, line {line}: not valid JSON ({detail})",
    "not_an_object": '{name}, line {line}: each line must be a JSON object like {{"text": ..., "label": ...}}',
    "header_only": "{name} has a header but no rows",
    "no_header": "{name} has no header row, so columns cannot be chosen by name",
    "no_such_column": "{name}: no column named {column!r}; columns are {columns}",
    "several_text_columns": "{name}: several columns could be the text ({columns}); name one with --text-column",
    "several_label_columns": "{name}: several columns could be the label ({columns}); name one with --label-column",
    "same_column": "{name}: the text and the label cannot be the same column",
    "columns_unclear": "{name}: cannot tell which column is the text and which the label ({columns}); "
    "name them with --text-column and --label-column",
    "columns_unclear_unnamed": "{name}: cannot tell which of its {width} columns is the text and which the label; "
    "add a first row naming them 'text' and 'label'",
    "unknown_label": "{name}, line {line}: unknown label {label!r}; expected one of {expected}",
    "one_class": "{name}: every row has the label {label!r}; a classifier needs at least 2 classes",
    "too_many_classes": "{name}: {n} different labels; the limit is {limit}. Is the label column the right one?",
    "labels_missing": "{name} has labels the training data lacks: {labels}",
    "too_few_rows": "{name} has {rows} rows: too few to hold some out for validation and train on the rest",
}


class DataError(ValueError):
    """A data file cannot be used. ``code`` names the problem and ``values`` fill in its sentence
    (MESSAGES, the English of the command line); the app says the same in the page's language."""

    def __init__(self, message: str = "", *, code: str | None = None, **values: object) -> None:
        self.code, self.values = code, values
        super().__init__(message or MESSAGES[code].format(**values))


@dataclass
class Dataset:
    texts: list[str]
    labels: list[int]  # indices into label_names
    label_names: list[str]
    description: str = ""
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def label_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.label_names, 0)
        for y in self.labels:
            counts[self.label_names[y]] += 1
        return counts

    def split(self, valid_fraction: float = 0.1, seed: int = 0) -> tuple[Dataset, Dataset]:
        """A seeded, stratified hold-out: every class keeps its share in both parts."""
        rng = random.Random(seed)
        by_class: dict[int, list[int]] = {}
        for i, y in enumerate(self.labels):
            by_class.setdefault(y, []).append(i)
        train_idx, valid_idx = [], []
        for idx in by_class.values():
            rng.shuffle(idx)
            n_valid = max(1, round(len(idx) * valid_fraction)) if len(idx) > 1 else 0
            valid_idx += idx[:n_valid]
            train_idx += idx[n_valid:]
        return self.subset(sorted(train_idx)), self.subset(sorted(valid_idx))

    def subset(self, idx: list[int]) -> Dataset:
        texts, labels = [self.texts[i] for i in idx], [self.labels[i] for i in idx]
        return Dataset(texts, labels, list(self.label_names), self.description, self.source)


@dataclass
class BuiltinDataset:
    name: str
    train: Dataset
    valid: Dataset
    datasheet: str
    info: dict = field(default_factory=dict)


def builtin_names() -> list[str]:
    return sorted(p.name for p in DATASETS_DIR.iterdir() if (p / "train.jsonl").is_file())


def load_builtin(name: str) -> BuiltinDataset:
    folder = DATASETS_DIR / name
    if not (folder / "train.jsonl").is_file():
        raise DataError(code="unknown_dataset", dataset=name, choices=", ".join(builtin_names()))
    info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
    label_names = info["labels"]
    parts = []
    for part in ("train", "valid"):
        ds = load_file(folder / f"{part}.jsonl", label_order=label_names)
        ds.description, ds.source = info["description"], f"builtin:{name}"
        parts.append(ds)
    datasheet = (folder / "DATASHEET.md").read_text(encoding="utf-8")
    return BuiltinDataset(name, parts[0], parts[1], datasheet, info)


# ---- user files -------------------------------------------------------------------------------


def read_text(raw: bytes, name: str = "file") -> str:
    """Decode bytes as UTF-8 (with or without BOM), falling back to Windows-1252."""
    if not raw.strip():
        raise DataError(code="empty_file", name=name)
    if b"\x00" in raw[:8192]:
        raise DataError(code="binary_file", name=name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            line = raw[: utf8_error.start].count(b"\n") + 1
            raise DataError(code="bad_encoding", name=name, line=line) from None


def load_file(
    path: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    label_order: list[str] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    max_rows: int = MAX_ROWS,
) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DataError(code="no_such_file", name=str(path))
    _check_size(path.stat().st_size, max_bytes, path.name)  # before reading a file that may not fit in memory
    return parse_bytes(path.read_bytes(), path.name, text_column, label_column, label_order, max_rows, max_bytes)


def _check_size(size: int, max_bytes: int, name: str) -> None:
    if size > max_bytes:
        raise DataError(code="file_too_big", name=name, mb=size / 2**20, limit=max_bytes / 2**20)


def parse_bytes(
    raw: bytes,
    name: str,
    text_column: str | None = None,
    label_column: str | None = None,
    label_order: list[str] | None = None,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
) -> Dataset:
    """Parse an uploaded or on-disk file's bytes into a Dataset (the format from its name)."""
    _check_size(len(raw), max_bytes, name)
    text = read_text(raw, name)
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = _jsonl_rows(text, name)
        columns = sorted({k for _, row in rows for k in row})
        records = [(line, [row.get(c) for c in columns]) for line, row in rows]
        header = columns
    else:
        delimiter = "\t" if suffix == ".tsv" else "," if suffix == ".csv" else _sniff(text)
        records = _delimited_rows(text, delimiter, name)
        header = None
    if not records:
        raise DataError(code="no_rows", name=name)
    text_idx, label_idx, records = _choose_columns(records, header, text_column, label_column, name)
    if len(records) > max_rows:
        raise DataError(code="too_many_rows", name=name, rows=len(records), limit=max_rows)
    texts, raw_labels = [], []
    for line, cells in records:
        sentence, label = cells[text_idx], cells[label_idx]
        if not isinstance(sentence, str) or not sentence.strip():
            raise DataError(code="empty_text", name=name, line=line)
        if label is None or (isinstance(label, str) and not label.strip()):
            raise DataError(code="empty_label", name=name, line=line)
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            if isinstance(label, float) and label.is_integer():
                label = int(label)
            else:
                raise DataError(code="label_not_text", name=name, line=line, label=repr(label))
        texts.append(sentence.strip())
        raw_labels.append(str(label).strip())
    return _index_labels(texts, raw_labels, label_order, name, [line for line, _ in records])


def hold_out(full: Dataset, valid_fraction: float = 0.1, seed: int = 0) -> tuple[Dataset, Dataset]:
    """An uploaded file split into training and validation parts; DataError when it is too small for both."""
    train, valid = full.split(valid_fraction, seed)
    if len(valid) == 0 or len(train) < MIN_TRAIN_ROWS:
        raise DataError(code="too_few_rows", name=full.source, rows=len(full))
    return train, valid


def _sniff(text: str) -> str:
    first = text.splitlines()[0] if text.splitlines() else ""
    return "\t" if first.count("\t") >= 1 else ","


def _delimited_rows(text: str, delimiter: str, name: str) -> list[tuple[int, list]]:
    # The csv module's line_num is the last physical line it read: after an unclosed quote that is
    # wherever the quoted cell ended (the end of the file), so the quote's own line is found by _quote_at.
    lines = io.StringIO(text).readlines()
    reader = csv.reader(lines, delimiter=delimiter)
    records, width, first_line = [], None, 1
    try:
        for cells in reader:
            start, first_line = first_line, reader.line_num + 1  # this record's first line; the next one's
            if not cells or all(not c.strip() for c in cells):
                continue
            quote = _quote_at(lines, start, delimiter) if reader.line_num > start else None
            if quote is not None:
                raise _quote_error(name, quote)
            if width is None:
                width = len(cells)
                if width < 2:
                    code = "one_column_tab" if delimiter == "\t" else "one_column_comma"
                    raise DataError(code=code, name=name, line=reader.line_num)
            elif len(cells) != width:
                raise DataError(code="column_count", name=name, line=reader.line_num, found=len(cells), width=width)
            records.append((start, cells))
    except csv.Error as exc:  # e.g. a cell past the csv module's size limit: often an unclosed quote
        quote = _quote_at(lines, first_line, delimiter)
        if quote is not None:
            raise _quote_error(name, quote) from None
        if "field limit" in str(exc):  # the csv module says so only in its message
            limit = csv.field_size_limit()
            raise DataError(code="cell_too_long", name=name, line=reader.line_num, limit=limit) from None
        raise DataError(code="csv_error", name=name, line=reader.line_num, detail=str(exc)) from None
    return records


def _quote_at(lines: list[str], start: int, delimiter: str) -> tuple[int, int | None] | None:
    """Where a quoted cell of the record starting on line ``start`` opens across a line break, and where it
    closes (None: never). A cell that closes cleanly (before a delimiter or the line's end) is no trouble."""
    in_quote, cell_start, opened = False, True, 0
    for number in range(start, len(lines) + 1):
        line = lines[number - 1]
        i = 0
        while i < len(line):
            char = line[i]
            if in_quote and char == '"':
                if line[i + 1 : i + 2] == '"':
                    i += 1  # "" is a quote inside a quoted cell
                else:
                    in_quote = False
                    after = line[i + 1 : i + 2]
                    if number > opened and after not in (delimiter, "\n", "\r", ""):
                        return opened, number  # closed lines later, and not at a cell's end: a stray quote
            elif not in_quote:
                if char == '"' and cell_start:
                    in_quote, opened = True, number
                cell_start = char == delimiter
            i += 1
        if not in_quote:
            return None
        cell_start = False
    return opened, None


def _quote_error(name: str, quote: tuple[int, int | None]) -> DataError:
    opened, closes = quote
    if closes is None:
        return DataError(code="unclosed_quote", name=name, line=opened)
    return DataError(code="quote_runs_on", name=name, line=opened, closes=closes)


def _jsonl_rows(text: str, name: str) -> list[tuple[int, dict]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(code="bad_json", name=name, line=number, detail=exc.msg) from None
        if not isinstance(row, dict):
            raise DataError(code="not_an_object", name=name, line=number)
        rows.append((number, row))
    return rows


def _find(names: list[str], wanted: tuple[str, ...]) -> list[int]:
    lowered = [str(n).strip().lower() for n in names]
    return [i for i, n in enumerate(lowered) if n in wanted]


def _choose_columns(records, header, text_column, label_column, name):
    """Which column holds the text and which the label; drops a header row if there is one."""
    text_column, label_column = (c.strip() if c and c.strip() else None for c in (text_column, label_column))
    if header is None and _is_header(records, text_column, label_column):
        header, records = [str(c).strip() for c in records[0][1]], records[1:]
        if not records:
            raise DataError(code="header_only", name=name)
    if text_column or label_column:
        if header is None:
            raise DataError(code="no_header", name=name)
        lowered = [h.strip().lower() for h in header]
        for given in (text_column, label_column):
            if given and given.lower() not in lowered:
                raise DataError(code="no_such_column", name=name, column=given, columns=", ".join(header))

    def pick(given, known, role):
        if given:
            return [h.strip().lower() for h in header].index(given.lower())
        if header is not None:
            hits = _find(header, known)
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                columns = ", ".join(header[i] for i in hits)
                code = "several_text_columns" if role == "text" else "several_label_columns"
                raise DataError(code=code, name=name, columns=columns)
        return None

    text_idx = pick(text_column, TEXT_NAMES, "text")
    label_idx = pick(label_column, LABEL_NAMES, "label")
    if text_idx is None or label_idx is None:
        text_idx, label_idx = _guess_columns(records, text_idx, label_idx, header, name)
    if text_idx == label_idx:
        raise DataError(code="same_column", name=name)
    return text_idx, label_idx, records


def _is_header(records, text_column, label_column) -> bool:
    """Whether the first row names the columns rather than holding a sentence and its label.

    It does when a cell is a usual or a given column name, or when its cells are unlike the data below
    them: a word over a column of numbers ("stars" over 1 to 5), or short names over a column of a few
    repeating labels in which the first row's value never occurs again.
    """
    first = [c.strip() if isinstance(c, str) else c for c in records[0][1]]
    named = {c.lower() for c in first if isinstance(c, str)}
    wanted = {c.lower() for c in (text_column, label_column) if c}
    if named & (wanted | set(TEXT_NAMES) | set(LABEL_NAMES)):
        return True
    below = [cells for _, cells in records[1:]]
    if not below or not all(isinstance(c, str) and c for c in first):
        return False
    for column, cell in enumerate(first):
        values = [str(cells[column]).strip() for cells in below]
        if all(_is_number(v) for v in values) and not _is_number(cell):
            return True
        distinct = set(values)
        few = 2 <= len(distinct) <= min(MAX_CLASSES, len(values) // 2)
        if few and cell not in distinct and all(_looks_like_a_name(c) for c in first):
            return True
    return False


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _looks_like_a_name(cell: str) -> bool:
    """A column name is short: a few words at most, no sentence (review_body, 评论内容, Star rating)."""
    return len(cell) <= 40 and len(cell.split()) <= 3 and cell[-1] not in ".!?。！？"


def _guess_columns(records, text_idx, label_idx, header, name):
    """Detect the columns by their content: the label has a few values that repeat, the text the longest."""
    width = len(records[0][1])
    n_rows = len(records)
    stats = []
    for c in range(width):
        strings = [str(cells[c]) for _, cells in records if cells[c] is not None]
        mean_len = statistics.fmean(len(s) for s in strings) if strings else 0.0
        stats.append((c, len(set(strings)), mean_len))
    if label_idx is None:
        # A label repeats: a handful of classes over many rows. Of several such columns, one with
        # clearly fewer values (2 classes beside 6 sentences) is the label; an even choice is refused.
        labelish = sorted(
            (distinct, c)
            for c, distinct, _ in stats
            if c != text_idx and 2 <= distinct <= MAX_CLASSES and (distinct < n_rows or n_rows <= 2)
        )
        if labelish and (len(labelish) == 1 or labelish[1][0] >= 2 * labelish[0][0]):
            label_idx = labelish[0][1]
        else:
            raise _unclear(name, header, width)
    if text_idx is None:
        others = sorted(((m, c) for c, _, m in stats if c != label_idx and _all_strings(records, c)), reverse=True)
        if not others or (len(others) > 1 and others[1][0] > 0.5 * others[0][0]):
            raise _unclear(name, header, width)
        text_idx = others[0][1]
    return text_idx, label_idx


def _unclear(name, header, width) -> DataError:
    if header:
        return DataError(code="columns_unclear", name=name, columns=", ".join(header))
    return DataError(code="columns_unclear_unnamed", name=name, width=width)


def _all_strings(records, c) -> bool:
    return all(isinstance(cells[c], str) for _, cells in records)


def _index_labels(texts, raw_labels, label_order, name, lines) -> Dataset:
    if label_order is not None:
        index = {lab: i for i, lab in enumerate(label_order)}
        for line, lab in zip(lines, raw_labels):
            if lab not in index:
                expected = ", ".join(label_order)
                raise DataError(code="unknown_label", name=name, line=line, label=lab, expected=expected)
        return Dataset(texts, [index[lab] for lab in raw_labels], list(label_order), source=name)
    distinct = set(raw_labels)
    if len(distinct) < 2:
        raise DataError(code="one_class", name=name, label=raw_labels[0])
    if len(distinct) > MAX_CLASSES:
        raise DataError(code="too_many_classes", name=name, n=len(distinct), limit=MAX_CLASSES)
    # Integer labels sort as numbers (0, 1, 2, 10), others alphabetically.
    if all(lab.lstrip("-").isdigit() for lab in distinct):
        names = sorted(distinct, key=int)
    else:
        names = sorted(distinct)
    index = {lab: i for i, lab in enumerate(names)}
    return Dataset(texts, [index[lab] for lab in raw_labels], names, source=name)


def align_labels(valid: Dataset, train: Dataset, name: str = "validation file") -> Dataset:
    """Re-index a separately loaded validation set onto the training set's label names."""
    index = {lab: i for i, lab in enumerate(train.label_names)}
    missing = sorted(set(valid.label_names) - set(index))
    if missing:
        raise DataError(code="labels_missing", name=name, labels=", ".join(missing))
    labels = [index[valid.label_names[y]] for y in valid.labels]
    return Dataset(valid.texts, labels, list(train.label_names), valid.description, valid.source)
