"""The loader accepts what a teacher would hand it and names every problem with its line."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.data import MESSAGES, DataError, align_labels, builtin_names, hold_out, load_builtin, load_file, parse_bytes


def parse(text, name="data.csv", **kw):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return parse_bytes(raw, name, **kw)


def test_csv_with_header():
    ds = parse("text,label\nI love it,pos\nawful,neg\nfine,pos\n")
    assert ds.texts == ["I love it", "awful", "fine"]
    assert ds.label_names == ["neg", "pos"] and ds.labels == [1, 0, 1]


def test_glue_style_tsv_with_integer_labels():
    ds = parse("sentence\tlabel\nit 's a charming journey\t1\nbland\t0\n", name="train.tsv")
    assert ds.texts == ["it 's a charming journey", "bland"] and ds.labels == [1, 0]
    assert ds.label_names == ["0", "1"]


def test_integer_labels_sort_as_numbers():
    rows = "".join(f"sentence {i},{lab}\n" for i, lab in enumerate([2, 10, 1, 2, 10, 1]))
    ds = parse("text,label\n" + rows)
    assert ds.label_names == ["1", "2", "10"]


def test_no_header_columns_detected_from_content():
    rows = [f"a fairly long sentence number {i} about things,{'pos' if i % 2 else 'neg'}" for i in range(30)]
    ds = parse("\n".join(rows))
    assert len(ds) == 30 and ds.label_names == ["neg", "pos"]
    # label first, text second: still detected
    swapped = "\n".join(f"{'pos' if i % 2 else 'neg'}\tsentence {i} with several words in it" for i in range(30))
    ds = parse(swapped, name="x.tsv")
    assert ds.texts[0] == "sentence 0 with several words in it"


def test_named_columns_and_extra_columns():
    ds = parse(
        "id,review,stars,sentiment\n1,great food,5,good\n2,cold soup,1,bad\n",
        text_column="review",
        label_column="sentiment",
    )
    assert ds.texts == ["great food", "cold soup"] and ds.label_names == ["bad", "good"]


def test_jsonl():
    lines = [json.dumps({"text": t, "label": y}, ensure_ascii=False) for t, y in [("好看", 1), ("难看", 0), ("ok", 1)]]
    ds = parse("\n".join(lines) + "\n", name="d.jsonl")
    assert ds.texts == ["好看", "难看", "ok"] and ds.labels == [1, 0, 1]


def test_windows_1252_fallback():
    raw = "text,label\ncaf\u00e9 was great \u2013 really,pos\nbad,neg\n".encode("cp1252")
    ds = parse(raw)
    assert ds.texts[0] == "caf\u00e9 was great \u2013 really"


def test_utf8_bom_is_ignored():
    ds = parse("\ufefftext,label\ngood,pos\nbad,neg\n".encode("utf-8"))
    assert ds.texts == ["good", "bad"]


@pytest.mark.parametrize(
    "raw, name, kw, message",
    [
        (b"", "e.csv", {}, "is empty"),
        (b"   \n\n", "e.csv", {}, "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "pic.csv", {}, "binary"),
        (
            b"text,label\ngood,pos\nbad \x81\x8d\x90 thing,neg\n",
            "x.csv",
            {},
            "line 3: the text is neither UTF-8 nor Windows-1252",
        ),
        (b"text,label\ngood,pos\nbad,neg,extra\n", "x.csv", {}, "line 3: 3 columns where the first row has 2"),
        (b"text,label\ngood,pos\n,neg\n", "x.csv", {}, "line 3: the text is empty"),
        (b"text,label\ngood,pos\nfine,\n", "x.csv", {}, "line 3: the label is empty"),
        (b"text,label\ngood,pos\nfine,pos\n", "x.csv", {}, "at least 2 classes"),
        (b"text,label\n" + b"".join(b"s%d,c%d\n" % (i, i) for i in range(21)), "x.csv", {}, "21 different labels"),
        (b"text,label\ngood,pos\n", "x.csv", {"text_column": "review"}, "no column named 'review'"),
        (b"good,pos\nbad,neg\n", "x.csv", {"text_column": "text"}, "no header row"),
        (b"justonecolumn\nanother\n", "x.csv", {}, "line 1: found 1 column"),
        (b"a,b\n1,2\n3,4\n1,2\n", "x.csv", {}, "cannot tell which column"),
        (b"text,review,label\na b c,d e f,x\ng h i,j k l,y\n", "x.csv", {}, "several columns could be the text"),
        (b'{"text": "good", "label": 1}\n{"text": "bad", "label": \n', "x.jsonl", {}, "line 2: not valid JSON"),
        (b'{"text": "good", "label": 1}\n[1, 2]\n', "x.jsonl", {}, "line 2: each line must be a JSON object"),
        (b'{"text": "good", "label": 1}\n{"text": "bad", "label": [0]}\n', "x.jsonl", {}, "line 2: the label"),
        (b"text,label\n", "x.csv", {}, "header but no rows"),
        (b'text,label\n"unclosed,pos\n', "x.csv", {}, "line 2"),
        (b"text,label\ngood,pos\nbad,neg\n", "x.csv", {"max_bytes": 10}, "limit is"),
    ],
)
def test_every_malformed_file_gets_a_clear_message(raw, name, kw, message):
    with pytest.raises(DataError) as err:
        parse_bytes(raw, name, **kw)
    assert message in str(err.value)
    assert "\n" not in str(err.value)  # one line
    assert err.value.code in MESSAGES  # so the app can say it in the page's language


# A small file of the kind a shop exports: its own column names, stars for labels (written for these tests).
REVIEWS = """review_body,stars
"The kettle boils in two minutes, but the lid rattles the whole time.",3
Stopped working after a week and support never answered my emails.,1
"Lovely colour, feels solid, and it pours without dribbling.",5
It is fine for the price; nothing special about it.,3
The handle got hot enough to burn my fingers on the first day.,1
"Quiet, quick and easy to clean. I would buy it again.",5
Arrived with a dent in the side and a cracked lid.,1
"Does the job, though the cord is far too short for my kitchen.",2
My second one from this shop and still the best I have owned.,5
Takes ages to boil and the switch feels flimsy.,2
"Good value, looks nice on the counter.",4
"Not bad at all, better than the one it replaced.",4
"""


def test_a_header_with_its_own_column_names_is_recognised():
    ds = parse(REVIEWS)
    assert len(ds) == 12 and ds.label_names == ["1", "2", "3", "4", "5"]
    assert ds.texts[0].startswith("The kettle boils") and "review_body" not in ds.texts
    # words for labels, and a Chinese header: the label column is the one with few values repeating
    rows = [
        ("这个水壶烧水很快，声音也不大。", "好"),
        ("用了一周就坏了，客服也不回复。", "差"),
        ("颜色很漂亮，拿在手里很结实。", "好"),
        ("盖子一直响，听着很烦。", "差"),
        ("价格便宜，东西也不错。", "好"),
        ("把手太烫，第一天就烫到了手。", "差"),
    ]
    ds = parse("评论内容,评价\n" + "".join(f"{text},{label}\n" for text, label in rows))
    assert len(ds) == 6 and ds.label_names == ["好", "差"] and ds.texts[0] == rows[0][0]


def test_columns_that_cannot_be_told_apart_say_how_to_name_them():
    with pytest.raises(DataError) as err:
        parse("first,second\nred,pos\nblue,neg\nred,neg\nblue,pos\n")
    assert err.value.code == "columns_unclear" and err.value.values["columns"] == "first, second"
    assert "--text-column" in str(err.value)  # the command line names its flags; the page its boxes


@pytest.mark.parametrize(
    "raw, line",
    [
        (b'text,label\ngood,pos\n"unclosed,pos\nx,neg\ny,pos\nz,neg\n', 3),  # the text swallows the rest
        (b'text,label\n"unclosed,pos\nx,neg\ny,pos\nz,neg\n', 2),
        (b'text,label\ngood,pos\nbad,"neg\nx,neg\ny,pos\n', 3),  # the label swallows the rest
        (b'text,label\ngood,pos\n"runs on,pos\nx,neg\n"quoted" too,pos\ny,neg\n', 3),  # closed lines later
        (b'text,label\nrow,pos\nrow,neg\n"big,pos\n' + b"x" * 140_000 + b",neg\n", 4),  # past the csv cell limit
    ],
    ids=["text", "first-row", "label", "closed-late", "past-the-field-limit"],
)
def test_an_unclosed_quote_is_reported_on_the_line_it_opens(raw, line):
    with pytest.raises(DataError) as err:
        parse(raw)
    assert f"line {line}:" in str(err.value) and "quote" in str(err.value)


def test_a_quoted_text_may_span_lines():
    ds = parse('text,label\n"two\nlines",pos\nbad,neg\n')
    assert ds.texts == ["two\nlines", "bad"]


def test_hold_out_keeps_a_validation_part_or_says_the_file_is_too_small():
    train, valid = hold_out(parse(REVIEWS))
    assert len(train) + len(valid) == 12 and len(valid) >= 1
    with pytest.raises(DataError) as err:
        hold_out(parse("text,label\ngood,pos\nbad,neg\n"))
    assert err.value.code == "too_few_rows"


def test_size_and_row_limits(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("text,label\n" + "good,pos\nbad,neg\n" * 50)
    with pytest.raises(DataError, match="limit is"):
        load_file(path, max_bytes=100)
    with pytest.raises(DataError, match="100 rows; the limit is 10"):
        load_file(path, max_rows=10)
    with pytest.raises(DataError, match="does not exist"):
        load_file(tmp_path / "nope.csv")


def test_validation_labels_align_to_training_labels():
    train = parse("text,label\ngood,pos\nbad,neg\nok,neutral\n")
    valid = parse("text,label\nfine,pos\nawful,neg\n")
    aligned = align_labels(valid, train)
    assert aligned.label_names == ["neg", "neutral", "pos"] and aligned.labels == [2, 0]
    with pytest.raises(DataError, match="labels the training data lacks: other"):
        align_labels(parse("text,label\nfine,other\nawful,neg\n"), train)


def test_split_is_stratified_and_seeded():
    ds = parse("text,label\n" + "".join(f"s{i},{'a' if i < 80 else 'b'}\n" for i in range(100)))
    train, valid = ds.split(0.1, seed=3)
    assert len(train) + len(valid) == 100 and not set(train.texts) & set(valid.texts)
    assert valid.label_counts() == {"a": 8, "b": 2}
    assert ds.split(0.1, seed=3)[1].texts == valid.texts


def test_builtin_datasets_meet_their_datasheets():
    assert {"sentiment_en", "sentiment_zh", "colour", "negation"} <= set(builtin_names())
    en, zh = load_builtin("sentiment_en"), load_builtin("sentiment_zh")
    assert len(en.train) + len(en.valid) >= 2000 and len(zh.train) + len(zh.valid) >= 1000
    texts = " ".join(en.train.texts).lower()
    for cue in ("not ", "doesn't", "but ", "very ", "far too"):
        assert cue in texts
    for ds in (en, zh, load_builtin("colour"), load_builtin("negation")):
        counts = list(ds.train.label_counts().values())
        assert min(counts) > 0.4 * max(counts)  # balanced
        assert not set(ds.train.texts) & set(ds.valid.texts)
        assert "How it was made" in ds.datasheet
    assert "I love this movie!" not in en.train.texts  # the article's examples are held out


def test_builtin_datasets_are_reproducible_from_their_generator(tmp_path):
    from model.corpus import write_all
    from model.data import DATASETS_DIR

    write_all(tmp_path)
    for name in builtin_names():
        for f in ("train.jsonl", "valid.jsonl", "info.json", "DATASHEET.md"):
            assert (tmp_path / name / f).read_bytes() == (DATASETS_DIR / name / f).read_bytes(), f"{name}/{f}"


def test_unknown_builtin_name():
    with pytest.raises(DataError, match="no built-in dataset named 'nope'"):
        load_builtin("nope")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.binary(max_size=300), st.text(alphabet='ab 好,"\t\n\r1{}[]:', max_size=300).map(str.encode)),
    st.sampled_from(["x.csv", "x.tsv", "x.txt", "x.jsonl"]),
)
def test_any_file_gives_a_dataset_or_a_data_error_with_a_code(raw, name):
    try:
        ds = parse_bytes(raw, name)
    except DataError as exc:
        assert exc.code in MESSAGES and "\n" not in str(exc)
    else:
        assert len(ds.texts) == len(ds.labels) and 2 <= len(ds.label_names) <= 20
