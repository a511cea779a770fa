"""Saving and loading MLPs: exact round trips, strict JSON, atomic writes, clear errors."""

import json
import math
import os
import struct

import pytest

from gradengine import MLP
from gradengine.serialize import save_mlp

SPECIAL = [-0.0, 5e-324, 1 / 3, -1.7976931348623157e308, math.pi, math.nan, math.inf, -math.inf]


def bits(x):
    return struct.pack("<d", x)


def model_with_special_values():
    model = MLP(3, [4, 2, 1], seed=0)
    for p, x in zip(model.parameters(), SPECIAL):
        p.data = x
    return model


def test_round_trip_is_bit_for_bit(tmp_path):
    model = model_with_special_values()
    path = tmp_path / "model.json"
    model.save(path)
    loaded = MLP.load(path)
    assert repr(loaded) == repr(model)
    assert [bits(p.data) for p in loaded.parameters()] == [bits(p.data) for p in model.parameters()]
    assert [n.nonlin for layer in loaded.layers for n in layer.neurons] == [
        n.nonlin for layer in model.layers for n in layer.neurons
    ]


def test_loaded_model_computes_the_same_outputs(tmp_path):
    model = MLP(2, [8, 8, 3], seed=4)
    save_mlp(model, str(tmp_path / "m.json"))
    loaded = MLP.load(str(tmp_path / "m.json"))
    for x in ([0.5, -1.0], [2.0, 3.0]):
        assert [o.data for o in loaded(x)] == [o.data for o in model(x)]


def test_file_is_strict_versioned_json(tmp_path):
    path = tmp_path / "m.json"
    model_with_special_values().save(path)

    def no_bare_constants(name):
        raise AssertionError(f"bare {name} in the file")

    doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=no_bare_constants)
    assert (doc["format"], doc["version"], doc["nin"], doc["nouts"]) == (
        "gradengine.mlp",
        1,
        3,
        [4, 2, 1],
    )
    first, second = doc["layers"][0][:2]
    assert (first["w"], first["b"]) == ([-0.0, 5e-324, 1 / 3], -1.7976931348623157e308)
    assert (second["w"], second["b"]) == ([math.pi, "nan", "inf"], "-inf")
    assert [len(layer) for layer in doc["layers"]] == [4, 2, 1]
    assert [n["nonlin"] for layer in doc["layers"] for n in layer] == [True] * 6 + [False]


def test_save_replaces_an_existing_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("old", encoding="utf-8")
    MLP(2, [1], seed=0).save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["nin"] == 2
    assert os.listdir(tmp_path) == ["m.json"]


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    path.write_text("old", encoding="utf-8")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [1], seed=0).save(path)
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["m.json"]


def test_an_mlp_of_the_wrong_shape_is_not_written(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    model.layers[1].neurons[0].w.pop()
    with pytest.raises(ValueError, match=r"layers\[1\]\[0\]"):
        model.save(tmp_path / "m.json")
    assert os.listdir(tmp_path) == []


def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MLP(2, [1], seed=0).save(tmp_path / "missing" / "m.json")


def test_saving_something_else_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="expected an MLP"):
        save_mlp([1, 2], tmp_path / "m.json")
    with pytest.raises(TypeError, match="path"):
        save_mlp(MLP(1, [1]), 42)


def good_doc():
    return {
        "format": "gradengine.mlp",
        "version": 1,
        "nin": 2,
        "nouts": [2, 1],
        "layers": [
            [
                {"w": [0.5, -0.25], "b": 0.0, "nonlin": True},
                {"w": [1.0, 2.0], "b": 0.125, "nonlin": True},
            ],
            [{"w": [3.0, -1.0], "b": 0.5, "nonlin": False}],
        ],
    }


def test_a_hand_written_file_loads(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(good_doc()), encoding="utf-8")
    model = MLP.load(path)
    # by hand: hidden = relu([0.5 - 0.25, 1 + 2 + 0.125]) = [0.25, 3.125]; out = 0.75 - 3.125 + 0.5
    assert model([1.0, 1.0]).data == 0.75 - 3.125 + 0.5


def edit(change):
    doc = good_doc()
    change(doc)
    return json.dumps(doc)


BAD_FILES = [
    ("truncated", json.dumps(good_doc())[:70], "not valid JSON"),
    ("empty", "", "not valid JSON"),
    ("a list", "[1, 2]", "top level: expected a JSON object"),
    ("wrong format", edit(lambda d: d.update(format="other")), "format"),
    ("newer version", edit(lambda d: d.update(version=2)), "version"),
    ("version true", edit(lambda d: d.update(version=True)), "version"),
    ("missing nin", edit(lambda d: d.pop("nin")), "nin: missing"),
    ("nin zero", edit(lambda d: d.update(nin=0)), "nin"),
    ("nouts empty", edit(lambda d: d.update(nouts=[])), "nouts"),
    ("nouts string", edit(lambda d: d.update(nouts=["2", 1])), r"nouts\[0\]"),
    ("extra key", edit(lambda d: d.update(extra=1)), "unexpected keys"),
    ("layer count", edit(lambda d: d["layers"].pop()), "layers: expected 2"),
    ("neuron count", edit(lambda d: d["layers"][0].pop()), r"layers\[0\]: expected 2"),
    ("weight count", edit(lambda d: d["layers"][1][0]["w"].pop()), r"layers\[1\]\[0\]\.w"),
    ("string weight", edit(lambda d: d["layers"][0][1]["w"].__setitem__(1, "2")), r"\.w\[1\]"),
    ("bool bias", edit(lambda d: d["layers"][0][0].update(b=True)), r"layers\[0\]\[0\]\.b"),
    ("missing bias", edit(lambda d: d["layers"][0][0].pop("b")), r"\.b: missing"),
    ("nonlin", edit(lambda d: d["layers"][1][0].update(nonlin="yes")), r"\.nonlin"),
    ("bare NaN", json.dumps(good_doc()).replace("0.125", "NaN"), "bare NaN"),
    ("number beyond float range", json.dumps(good_doc()).replace("0.125", "-1e999"), "-1e999"),
    (
        "int beyond float range",
        json.dumps(good_doc()).replace("0.125", "9" * 400),
        r"\.b: .*finite",
    ),
    ("duplicate key", json.dumps(good_doc()).replace('"nin": 2', '"nin": 2, "nin": 3'), "'nin'"),
    ("deeply nested", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize(
    ("content", "message"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_a_bad_file_is_a_value_error_naming_file_and_field(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        MLP.load(path)
    assert str(path) in str(info.value)


def test_a_dict_with_a_non_finite_float_is_refused_as_the_file_would_be():
    doc = good_doc()
    doc["layers"][1][0]["b"] = math.inf  # the format writes inf as the string "inf"
    with pytest.raises(ValueError, match=r"<dict>: layers\[1\]\[0\]\.b: .*finite"):
        MLP.from_dict(doc)
    doc["layers"][1][0]["b"] = "inf"
    assert MLP.from_dict(doc).layers[1].neurons[0].b.data == math.inf


def test_a_binary_file_is_a_value_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="UTF-8"):
        MLP.load(path)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        MLP.load(tmp_path / "nothing.json")


@pytest.mark.parametrize(
    "data",
    [True, False, 3, -(2**70), 10**400],
    ids=["True", "False", "int", "big int", "int beyond float"],
)
def test_parameter_data_set_to_a_bool_or_an_int_saves_a_file_that_loads(tmp_path, data):
    mlp = MLP(2, [1], seed=0)
    mlp.layers[0].neurons[0].w[0].data = data
    mlp.save(tmp_path / "m.json")
    loaded = MLP.load(tmp_path / "m.json")
    expected = math.inf if data == 10**400 else float(data)
    assert loaded.layers[0].neurons[0].w[0].data == expected


def test_parameter_data_set_to_a_numpy_float_saves_a_file_that_loads(tmp_path):
    np = pytest.importorskip("numpy")
    mlp = MLP(2, [1], seed=0)
    values = [np.float32(0.1), np.float64(-2.5), np.float16(np.inf)]
    for p, value in zip(mlp.parameters(), values, strict=True):
        p.data = value
    mlp.save(tmp_path / "m.json")
    loaded = [p.data for p in MLP.load(tmp_path / "m.json").parameters()]
    assert loaded == [float(np.float32(0.1)), -2.5, math.inf]
    assert all(type(x) is float for x in loaded)


def test_parameter_data_that_is_no_number_is_a_type_error_naming_the_parameter(tmp_path):
    mlp = MLP(2, [1], seed=0)
    mlp.layers[0].neurons[0].b.data = "0.5"
    with pytest.raises(TypeError, match=r"layers\[0\]\[0\]\.b .*must be a real number.*str"):
        mlp.save(tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []
