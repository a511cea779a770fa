"""Save and load an MLP as versioned JSON: the architecture and every parameter, bit for bit.

The file looks like this (one neuron per line)::

    {
      "format": "gradengine.mlp",
      "version": 1,
      "nin": 2,
      "nouts": [16, 1],
      "layers": [
        [
          {"w": [0.23, -0.71], "b": 0.0, "nonlin": true},
          ...
        ],
        ...
      ]
    }

A neuron with nonlin true whose activation is not ReLU also has "activation": "tanh" ("sigmoid",
"linear"); files without the field (written before it existed) hold ReLU networks. A linear output
layer has nonlin false, as micrograd's.

JSON writes a float as the shortest decimal that reads back as the same float, so parameters
round-trip exactly. JSON has no nan or infinity, so those are written as the strings "nan",
"inf" and "-inf". Loading checks the whole file before it builds the model, and saving writes a
temporary file beside the target and renames it, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Sequence
from typing import Any, Protocol

from gradengine.checks import as_float, describe, type_name
from gradengine.engine import Value
from gradengine.fast import ACTIVATIONS
from gradengine.files import read_bounded, write_atomic


# What this module reads of an MLP (nn.py imports this module to give MLP save() and load()).
class _Neuron(Protocol):
    @property
    def w(self) -> Sequence[Value]: ...
    @property
    def b(self) -> Value: ...
    @property
    def nonlin(self) -> bool: ...


class _Layer(Protocol):
    @property
    def neurons(self) -> Sequence[_Neuron]: ...


class MLPLike(Protocol):
    """An MLP as this module reads it: layers of neurons, each with weights w, bias b, nonlin."""

    @property
    def layers(self) -> Sequence[_Layer]: ...


FORMAT = "gradengine.mlp"
VERSION = 1
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
#: The largest model file read_mlp reads. A parameter takes at most ~25 bytes of JSON, so the
#: largest MLP allowed (nn.MAX_PARAMETERS, ten million) writes about 250 MB: 1 GiB has room.
MAX_FILE_BYTES = 1 << 30


# -- MLP <-> plain data ---------------------------------------------------------------------------


def json_number(x: float) -> float | str:
    """x itself, or "nan" / "inf" / "-inf", which JSON cannot hold as numbers."""
    if math.isfinite(x):
        return x
    return "nan" if x != x else ("inf" if x > 0 else "-inf")


def _encode(x: object, field: str) -> float | str:
    """x as a float for JSON (json_number), whatever real number type it was set to."""
    # A parameter's data may have been set to a numpy float, a bool or an int: json.dumps would
    # refuse the first and write the others as true / 3, which load() rightly refuses.
    return json_number(as_float(x, f"{field} (the parameter's data)"))


def mlp_to_dict(mlp: MLPLike) -> dict[str, Any]:
    """The MLP as plain JSON-ready data: format, version, nin, nouts, and layers of neurons."""
    if not _is_mlp(mlp):
        raise TypeError(f"expected an MLP, got {describe(mlp)}")
    nin = len(mlp.layers[0].neurons[0].w)
    nouts = [len(layer.neurons) for layer in mlp.layers]
    fan_in = nin
    for i, layer in enumerate(mlp.layers):
        kinds = {neuron_kind(n) for n in layer.neurons}
        for j, neuron in enumerate(layer.neurons):
            if len(neuron.w) != fan_in or len(kinds) > 1:
                raise ValueError(
                    f"layers[{i}][{j}] does not fit MLP({nin}, {nouts}): it has {len(neuron.w)} "
                    f"weights (expected {fan_in}); the neurons of a layer must not mix activations "
                    f"({sorted(kinds)})"
                )
        fan_in = len(layer.neurons)
    layers = [
        [
            {
                "w": [_encode(w.data, f"layers[{i}][{j}].w[{k}]") for k, w in enumerate(n.w)],
                "b": _encode(n.b.data, f"layers[{i}][{j}].b"),
                "nonlin": neuron_kind(n) != "linear" or i != len(nouts) - 1,
                **({"activation": neuron_kind(n)} if _field(n, i == len(nouts) - 1) else {}),
            }
            for j, n in enumerate(layer.neurons)
        ]
        for i, layer in enumerate(mlp.layers)
    ]
    return {"format": FORMAT, "version": VERSION, "nin": nin, "nouts": nouts, "layers": layers}


def _field(neuron: Any, output: bool) -> bool:
    """Whether a neuron's file entry names its activation: not for ReLU, nor a linear output."""
    kind = neuron_kind(neuron)
    return kind != "relu" and not (output and kind == "linear")


def neuron_kind(neuron: Any) -> str:
    """The neuron's activation ("relu", "tanh", ...); ReLU or linear for one without .kind."""
    kind = getattr(neuron, "kind", None)
    return kind if isinstance(kind, str) else ("relu" if neuron.nonlin else "linear")


class _Reader:
    """Checks one field at a time, naming the file and the field in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, problem: str) -> ValueError:
        return ValueError(f"{self.source}: {field}: {problem}")

    def get(self, obj: dict[str, Any], key: str, field: str) -> Any:
        if key not in obj:
            raise self.fail(field, "missing")
        return obj[key]

    def size(self, x: object, field: str) -> int:
        if isinstance(x, bool) or not isinstance(x, int) or x < 1:
            raise self.fail(field, f"expected an integer >= 1, got {x!r:.60}")
        return x

    def number(self, x: object, field: str) -> float:
        if isinstance(x, str) and x in _NON_FINITE:
            return _NON_FINITE[x]
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise self.fail(field, f'expected a number (or "nan", "inf", "-inf"), got {x!r:.60}')
        try:
            number = float(x)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.fail(
                field,
                f'expected a finite number (non-finite ones are written "nan", "inf", "-inf"), '
                f"got {x!r:.60}",
            )
        return number

    def keys(self, obj: object, expected: set[str], field: str) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise self.fail(field, f"expected a JSON object, got {type_name(obj)}")
        unknown = sorted(set(obj) - expected)
        if unknown:
            raise self.fail(field, f"unexpected keys {unknown}; expected {sorted(expected)}")
        return obj

    def items(self, x: object, length: int, field: str) -> list[Any]:
        if not isinstance(x, list):
            raise self.fail(field, f"expected a list, got {type_name(x)}")
        if len(x) != length:
            raise self.fail(field, f"expected {length} entries, got {len(x)}")
        return x


def _is_mlp(x: object) -> bool:
    """True for an instance of gradengine.nn.MLP (or a subclass)."""
    return any(c.__name__ == "MLP" and c.__module__ == "gradengine.nn" for c in type(x).__mro__)


#: What a model file holds: nin, nouts, each neuron's (weights, bias), and each layer's activation
#: ("linear" where nonlin is false; else the "activation" field, "relu" where there is none).
Architecture = tuple[int, list[int], list[list[tuple[list[float], float]]], list[str]]


def parse_mlp(doc: object, source: str = "<dict>") -> Architecture:
    """The sizes and weights in doc (as mlp_to_dict writes it); ValueError naming the field."""
    read = _Reader(source)
    top = read.keys(doc, {"format", "version", "nin", "nouts", "layers"}, "top level")
    if read.get(top, "format", "format") != FORMAT:
        raise read.fail("format", f"expected {FORMAT!r}, got {top['format']!r:.60}")
    version = read.get(top, "version", "version")
    if type(version) is not int or version != VERSION:
        raise read.fail("version", f"this gradengine reads version {VERSION}, got {version!r:.60}")
    nin = read.size(read.get(top, "nin", "nin"), "nin")
    raw_nouts = read.get(top, "nouts", "nouts")
    if not isinstance(raw_nouts, list) or not raw_nouts:
        raise read.fail("nouts", f"expected a non-empty list of layer sizes, got {raw_nouts!r:.60}")
    nouts = [read.size(n, f"nouts[{i}]") for i, n in enumerate(raw_nouts)]
    raw_layers = read.items(read.get(top, "layers", "layers"), len(nouts), "layers")

    # Every number is read and checked before the model exists: nothing is ever half-loaded.
    weights: list[list[tuple[list[float], float]]] = []
    activations: list[str] = []
    fan_in = nin
    for i, (raw_layer, nout) in enumerate(zip(raw_layers, nouts, strict=True)):
        layer, kinds = [], set()
        for j, raw in enumerate(read.items(raw_layer, nout, f"layers[{i}]")):
            where = f"layers[{i}][{j}]"
            neuron = read.keys(raw, {"w", "b", "nonlin", "activation"}, where)
            raw_w = read.items(read.get(neuron, "w", f"{where}.w"), fan_in, f"{where}.w")
            w = [read.number(x, f"{where}.w[{k}]") for k, x in enumerate(raw_w)]
            b = read.number(read.get(neuron, "b", f"{where}.b"), f"{where}.b")
            nonlin = read.get(neuron, "nonlin", f"{where}.nonlin")
            if not isinstance(nonlin, bool):
                raise read.fail(f"{where}.nonlin", f"expected true or false, got {nonlin!r:.60}")
            activation = neuron.get("activation", "relu") if nonlin else "linear"
            if activation not in ACTIVATIONS or ("activation" in neuron and not nonlin):
                raise read.fail(
                    f"{where}.activation",
                    f"expected one of {', '.join(map(json.dumps, ACTIVATIONS))} on a neuron with "
                    f"nonlin true, got {json.dumps(neuron.get('activation'))[:60]}",
                )
            kinds.add(activation)
            if len(kinds) > 1:
                raise read.fail(
                    f"{where}.activation",
                    f"the neurons of layer {i} mix activations {sorted(kinds)}; expected one",
                )
            layer.append((w, b))
        weights.append(layer)
        activations.append(kinds.pop())
        fan_in = nout

    return nin, nouts, weights, activations


# -- files ----------------------------------------------------------------------------------------


def _dumps(doc: dict[str, Any]) -> str:
    """doc as strict JSON (no NaN), one neuron per line."""

    def dump(x: object) -> str:
        return json.dumps(x, allow_nan=False)

    lines = [f"  {dump(key)}: {dump(value)}," for key, value in doc.items() if key != "layers"]
    layers = [
        "    [\n" + ",\n".join(f"      {dump(neuron)}" for neuron in layer) + "\n    ]"
        for layer in doc["layers"]
    ]
    return "{\n" + "\n".join(lines) + '\n  "layers": [\n' + ",\n".join(layers) + "\n  ]\n}\n"


def _check_path(path: object) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type_name(path)}")
    return os.fspath(path)


def save_mlp(mlp: MLPLike, path: str | os.PathLike[str]) -> None:
    """Write mlp to path as JSON, via a temporary file and a rename (never half-written)."""
    target = _check_path(path)
    text = _dumps(mlp_to_dict(mlp))  # any error happens here, before the disk is touched
    write_atomic(target, text)


def _reject_constant(name: str) -> None:
    raise ValueError(f'bare {name} is not JSON; this format writes "nan", "inf" or "-inf"')


def _finite_float(text: str) -> float:
    """The JSON number text as a float; ValueError when it lies beyond the float range."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(
            f'the number {text:.60} is beyond the float range; this format writes "inf" or "-inf"'
        )
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict; ValueError on a repeated key (json would keep the last silently)."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"the key {key!r} appears twice in one JSON object")
        obj[key] = value
    return obj


def read_mlp(path: str | os.PathLike[str]) -> Architecture:
    """What the model file at path holds; ValueError naming the file and the field if wrong."""
    source = _check_path(path)
    raw = read_bounded(source, MAX_FILE_BYTES)  # never /dev/zero, never blocked on a FIFO
    try:
        doc = json.loads(
            raw.decode("utf-8"),
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError as e:
        raise ValueError(f"{source}: not a gradengine model file (not UTF-8 text: {e})") from None
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{source}: not valid JSON (truncated or corrupted?): {e.msg} at line {e.lineno}, "
            f"column {e.colno}"
        ) from None
    except ValueError as e:
        raise ValueError(f"{source}: {e}") from None
    except RecursionError:
        # json nests one Python call per bracket; no model file nests more than three deep.
        raise ValueError(f"{source}: not a gradengine model file (nested too deeply)") from None
    return parse_mlp(doc, source)
