"""Move an MLP to PyTorch and back: Linear layers with ReLU (or Tanh, Sigmoid) between, in float64.

Needs torch: pip install torch==2.13.0 (or, in a clone of gradengine: pip install ".[torch]").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradengine.checks import as_float, type_name
from gradengine.nn import MLP, check_parameter_count
from gradengine.serialize import FORMAT, VERSION, mlp_to_dict, neuron_kind

if TYPE_CHECKING:
    import torch

INSTALL_HINT = (
    "the PyTorch bridge needs torch: pip install torch==2.13.0 "
    '(or, in a clone of gradengine: pip install ".[torch]")'
)


def _require_torch() -> None:
    """Nothing if torch imports; else ModuleNotFoundError saying which extra to install."""
    try:
        import torch  # noqa: F401
    except ImportError as e:
        raise ModuleNotFoundError(INSTALL_HINT, name="torch") from e


def to_torch(mlp: MLP) -> torch.nn.Sequential:
    """Linear, ReLU, ..., Linear in float64 with the MLP's weights: layer(x) = W x + b."""
    _require_torch()
    import torch

    doc = mlp_to_dict(mlp)  # checks that mlp is a well-formed MLP
    _activation_modules()
    modules: list[torch.nn.Module] = []
    fan_in = doc["nin"]
    for layer in mlp.layers:
        # Built on the "meta" device, which draws no random numbers: the caller's torch random
        # stream stays as it was, and the weights are overwritten below anyway.
        linear = torch.nn.Linear(
            fan_in, len(layer.neurons), dtype=torch.float64, device="meta"
        ).to_empty(device="cpu")
        with torch.no_grad():
            # as_float: data set to a bool, a numpy float or an int beyond the float range
            # (which torch.tensor refuses with OverflowError) goes over as the float it stands for
            weights = [[as_float(w.data) for w in n.w] for n in layer.neurons]
            linear.weight.copy_(torch.tensor(weights, dtype=torch.float64))
            biases = [as_float(n.b.data) for n in layer.neurons]
            linear.bias.copy_(torch.tensor(biases, dtype=torch.float64))
        modules.append(linear)
        if layer.neurons[0].nonlin:
            modules.append(_ACTIVATION_MODULES[neuron_kind(layer.neurons[0])]())
        fan_in = len(layer.neurons)
    return torch.nn.Sequential(*modules)


#: The torch module for each activation of a hidden layer (mlp_to_dict refused any other).
_ACTIVATION_MODULES: dict[str, Any] = {}


def _activation_modules() -> dict[str, Any]:
    import torch

    if not _ACTIVATION_MODULES:
        _ACTIVATION_MODULES.update(
            relu=torch.nn.ReLU,
            tanh=torch.nn.Tanh,
            sigmoid=torch.nn.Sigmoid,
            linear=torch.nn.Identity,
        )
    return _ACTIVATION_MODULES


def from_torch(sequential: torch.nn.Sequential) -> MLP:
    """The MLP with the same weights as Sequential(Linear, ReLU, ..., ReLU, Linear)."""
    _require_torch()
    import torch

    if not isinstance(sequential, torch.nn.Sequential):
        raise TypeError(
            f"expected a torch.nn.Sequential of Linear and ReLU layers, got {type_name(sequential)}"
        )
    modules = list(sequential)
    expected_shape = "Linear, ReLU, Linear, ..., ReLU, Linear"
    if not modules:
        raise ValueError(f"the Sequential is empty; expected {expected_shape}")
    # First the shape, the dtypes and the size, from the modules' attributes alone: a network
    # that will be refused is refused before a single weight is copied.
    linears: list[tuple[int, torch.nn.Linear]] = []
    activation = None
    for i, module in enumerate(modules):
        name = type(module).__name__
        if i % 2 == 1:
            kinds = [k for k, m in _activation_modules().items() if type(module) is m]
            if not kinds:
                raise ValueError(
                    f"module {i} must be ReLU, Tanh, Sigmoid or Identity ({expected_shape}), "
                    f"got {name}"
                )
            if activation is not None and kinds[0] != activation:
                raise ValueError(
                    f"module {i} is {name} but an earlier one is {activation}: an MLP has one "
                    "activation for all its hidden layers"
                )
            activation = kinds[0]
            continue
        if not isinstance(module, torch.nn.Linear):
            raise ValueError(f"module {i} must be Linear ({expected_shape}), got {name}")
        if module.bias is None:
            raise ValueError(f"module {i}: Linear(bias=False) has no MLP equivalent")
        for what, tensor in (("weight", module.weight), ("bias", module.bias)):
            if not tensor.dtype.is_floating_point:  # complex too: its imaginary part would go
                raise TypeError(
                    f"module {i}: Linear {what} has dtype {tensor.dtype}; an MLP holds real "
                    "floats (convert with .double(), or take .real yourself)"
                )
        if linears and module.in_features != linears[-1][1].out_features:
            raise ValueError(
                f"module {i}: Linear takes {module.in_features} inputs but the layer before "
                f"gives {linears[-1][1].out_features}"
            )
        linears.append((i, module))
    if len(modules) % 2 == 0:
        raise ValueError(
            f"the Sequential ends with {type(modules[-1]).__name__}; expected {expected_shape}"
        )
    check_parameter_count(
        sum((m.in_features + 1) * m.out_features for _, m in linears), "the Sequential's MLP"
    )

    layers: list[list[dict[str, Any]]] = []
    for i, module in linears:
        weight = module.weight.detach().to(torch.float64)
        bias = module.bias.detach().to(torch.float64)
        for what, tensor in (("weight", weight), ("bias", bias)):
            bad = (~torch.isfinite(tensor)).nonzero()
            if len(bad):
                position = "][".join(str(int(k)) for k in bad[0])
                value = tensor[tuple(int(k) for k in bad[0])].item()
                raise ValueError(
                    f"module {i}: Linear {what}[{position}] is {value}; an MLP from torch must "
                    "hold finite weights"
                )
        last = i == len(modules) - 1
        layers.append(
            [
                {"w": w, "b": b, "nonlin": not last}
                | ({} if last or activation == "relu" else {"activation": activation})
                for w, b in zip(weight.tolist(), bias.tolist(), strict=True)
            ]
        )
    nin = linears[0][1].in_features
    nouts = [m.out_features for _, m in linears]
    doc = {"format": FORMAT, "version": VERSION, "nin": nin, "nouts": nouts, "layers": layers}
    return MLP.from_dict(doc, source="torch.nn.Sequential")
