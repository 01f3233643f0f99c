"""Training checkpoints: the net and everything NetTrain needs to go on from it.

A checkpoint is a saved net (:func:`netchain.nets.NetSave`'s format, so ``NetLoad`` opens it
as the net at the end of that round, as a Wolfram checkpoint opens as a net) with two more
things in the same safetensors file: under the header key ``"netchain.training"`` the loop's
state as JSON (rounds and batches done, the loss lists, the random generator's state, the
optimiser's step count, the early-stopping counters, the elapsed time, fingerprints of the
data, the net and the options), and arrays whose keys start with
:data:`netchain.nets.io.EXTRA_PREFIX` (the optimiser's moment estimates and the best net's
arrays so far). Files are written atomically (:func:`netchain.nets.io.write_atomically`):
an interrupted write leaves the previous checkpoint as it was.

Resuming (``NetTrain(..., resume_from=path)``) with the same data and options continues the
loop at the next round with the same generator, optimiser and counters, so the final net
equals that of an uninterrupted run bit for bit (on one machine). The fingerprints make a
resume with other data, another net or other options a clear error instead of a silently
different run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netchain import backend
from netchain.nets import PortData, leaf_layers
from netchain.nets.io import (
    EXTRA_PREFIX,
    decode_net,
    encode_net,
    layer_to_json,
    read_net_file,
    writable_destination,
    write_atomically,
)

__all__ = [
    "CheckpointState",
    "Checkpointing",
    "checkpointing",
    "existing_checkpoints",
    "fingerprint",
    "read_checkpoint",
    "remove_stale_temporaries",
    "schedule_key",
    "write_checkpoint",
]

FORMAT = "netchain-checkpoint"
VERSION = 1
HEADER_KEY = "netchain.training"
FILE_PATTERN = re.compile(r"^checkpoint-round-(\d+)\.safetensors$")


@dataclass
class Checkpointing:
    """Where checkpoints go: one file replaced every round ("File") or one file per round
    in a folder ("Directory", named ``checkpoint-round-NNNNN.safetensors``)."""

    kind: str
    path: Path

    def destination(self, round_number: int) -> Path:
        """The file for the checkpoint after round ``round_number`` (from 1)."""
        if self.kind == "File":
            return self.path
        return self.path / f"checkpoint-round-{round_number:05d}.safetensors"


def checkpointing(spec: Any) -> Checkpointing | None:
    """Parse NetTrain's ``training_progress_checkpointing`` option, checking the destination
    before any work.

    Parameters
    ----------
    spec : None, str or path-like, ("File", path) or ("Directory", path)
        A bare path means ("Directory", path) when it names an existing folder or ends with
        a separator, else ("File", path). A "Directory" is created if its parent exists.

    Raises
    ------
    ValueError, TypeError
        For another form, a missing or read-only folder, or a folder given as a file.
    """
    if spec is None:
        return None
    if isinstance(spec, str | os.PathLike):
        text = os.fspath(spec)
        folder_like = str(text).endswith(("/", os.sep)) or os.path.isdir(text)
        spec = ("Directory" if folder_like else "File", spec)
    if not (isinstance(spec, tuple | list) and len(spec) == 2 and spec[0] in ("File", "Directory")):
        raise ValueError(
            "training_progress_checkpointing must be a path, ('File', path) or "
            f"('Directory', path), got {spec!r}"
        )
    kind, path = spec
    if not isinstance(path, str | os.PathLike) or str(path) == "":
        raise TypeError(
            f"training_progress_checkpointing: the path must be a non-empty str or path-like, "
            f"got {path!r}"
        )
    who = "training_progress_checkpointing"
    dest = Path(os.path.realpath(path))
    if kind == "File":
        return Checkpointing("File", writable_destination(path, who))
    if dest.exists() and not dest.is_dir():
        raise ValueError(
            f"{who}: {str(path)!r} is a file; a checkpoint for every round goes into a folder"
        )
    folder = dest if dest.is_dir() else dest.parent
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{who}: {str(folder)!r} is a file, not a folder")
    if not folder.is_dir():
        raise ValueError(f"{who}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{who}: folder {str(folder)!r} is not writable")
    return Checkpointing("Directory", dest)


def jsonable(value: Any) -> Any:
    """A random generator's state (nested dicts with ints and, for MT19937, a key array) as
    JSON values; :func:`from_jsonable` undoes it."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.integer):
        return int(value)
    return value


def from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__", "dtype"}:
            return np.asarray(value["__array__"], dtype=value["dtype"])
        return {k: from_jsonable(v) for k, v in value.items()}
    return value


def _digest_into(h: Any, obj: Any) -> None:
    if obj is None:
        h.update(b"none")
    elif isinstance(obj, PortData):
        for key in sorted(obj.keys()):
            h.update(key.encode())
            _digest_into(h, obj[key])
    else:
        a = np.ascontiguousarray(backend.to_numpy(obj))
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.view(np.uint8).reshape(-1) if a.dtype != object else repr(a).encode())


def _code_digest(h: Any, code: Any) -> None:
    """Feed a code object's instructions and constants (nested code objects recursively,
    never their memory addresses) into ``h``."""
    h.update(code.co_code)
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            _code_digest(h, const)
        else:
            h.update(repr(const).encode())


def _callable_digest(h: Any, f: Any) -> None:
    if isinstance(f, functools.partial):
        _callable_digest(h, f.func)
        h.update(repr((f.args, sorted(f.keywords.items()))).encode())
        return
    code = getattr(f, "__code__", None)
    if code is None:
        h.update(f"a callable {type(f).__qualname__}".encode())
        return
    h.update(str(getattr(f, "__qualname__", "?")).encode())
    _code_digest(h, code)
    h.update(repr((f.__defaults__, f.__kwdefaults__)).encode())


def schedule_key(schedule: Any) -> Any:
    """What identifies a learning-rate schedule: its name, or a function's name, code (its
    instructions and constants) and default arguments (and a ``functools.partial``'s
    arguments); not the values a closure captures."""
    if schedule is None:
        return "Constant"
    if isinstance(schedule, str):
        return schedule
    h = hashlib.sha256()
    _callable_digest(h, schedule)
    return h.hexdigest()


def fingerprint(
    net: Any, given: Any, data: tuple[Any, ...], options: dict[str, Any], seed: Any
) -> dict[str, str]:
    """SHA-256 digests of the net (the description of ``net``, shapes inferred, and the
    arrays the caller's net ``given`` came with; those NetTrain initialises follow from the
    seed), of the options that shape the run, of the random seed, and of the training and
    validation arrays as NetTrain uses them (after the validation split)."""
    digests = {}
    h = hashlib.sha256()
    h.update(json.dumps(layer_to_json(net), sort_keys=True).encode())
    for path, layer in leaf_layers(given):
        for name, arr in sorted(layer.arrays.items()):
            h.update(f"{path}{name}".encode())
            _digest_into(h, arr)
    digests["net"] = h.hexdigest()
    h = hashlib.sha256()
    h.update(json.dumps(options, sort_keys=True, default=repr).encode())
    digests["options"] = h.hexdigest()
    if isinstance(seed, np.random.Generator):
        seed = seed.bit_generator.state
    seed = jsonable(seed)
    digests["seed"] = hashlib.sha256(json.dumps(seed, sort_keys=True).encode()).hexdigest()
    h = hashlib.sha256()
    for part in data:
        _digest_into(h, part)
    digests["data"] = h.hexdigest()
    return digests


@dataclass
class CheckpointState:
    """What a checkpoint holds besides the net's arrays (see the module notes)."""

    state: dict[str, Any]
    net_arrays: dict[tuple[Any, ...], dict[str, Any]]
    optimizer: dict[str, Any]
    best: list[Any] | None


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def remove_stale_temporaries(spec: Checkpointing) -> None:
    """Delete temporary files that a killed run left while writing a checkpoint here (names
    ``.<checkpoint name>.<random>.tmp``, as :func:`netchain.nets.io.write_atomically` makes
    them)."""
    folder = spec.path if spec.kind == "Directory" else spec.path.parent
    if not folder.is_dir():
        return
    names = (
        re.compile(r"^\.checkpoint-round-\d+\.safetensors\..+\.tmp$")
        if spec.kind == "Directory"
        else re.compile(rf"^\.{re.escape(spec.path.name)}\..+\.tmp$")
    )
    try:
        for f in folder.iterdir():
            if names.match(f.name) and f.is_file():
                f.unlink()
    except OSError:  # not ours to insist on: writing will report a real problem
        pass


def existing_checkpoints(spec: Checkpointing | None) -> list[Path]:
    """The checkpoint files already in a "Directory" destination."""
    if spec is None or spec.kind != "Directory" or not spec.path.is_dir():
        return []
    try:
        return [f for f in spec.path.iterdir() if FILE_PATTERN.match(f.name)]
    except OSError:
        return []


def write_checkpoint(
    dest: Path,
    net: Any,
    state: dict[str, Any],
    optimizer_arrays: dict[str, Any],
    best: list[Any] | None,
) -> None:
    """Write one checkpoint atomically (creating a "Directory" folder on first use)."""
    state = {
        "format": FORMAT,
        "version": VERSION,
        **state,
        "random_state": jsonable(state["random_state"]),
        "best_validation_loss": _finite_or_none(state["best_validation_loss"]),
        "best_watched": _finite_or_none(state["best_watched"]),
        "optimizer_arrays": sorted(optimizer_arrays),
        "best_arrays": None if best is None else len(best),
    }
    extra = {f"{EXTRA_PREFIX}optimizer/{k}": a for k, a in optimizer_arrays.items()}
    for i, a in enumerate(best or []):
        extra[f"{EXTRA_PREFIX}best/{i}"] = a
    # losses may be infinite (a validation loss that overflowed): Python's JSON writes and
    # reads them as Infinity
    blob = encode_net(
        net,
        "training_progress_checkpointing",
        extra_header={HEADER_KEY: json.dumps(state, allow_nan=True)},
        extra_arrays=extra,
    )
    try:
        dest.parent.mkdir(exist_ok=True)
        write_atomically(dest, blob)
    except (ValueError, OSError) as exc:
        raise ValueError(f"training_progress_checkpointing: {exc}") from None


def _latest(folder: Path) -> Path:
    try:
        rounds = [
            (int(m.group(1)), f)
            for f in folder.iterdir()
            if (m := FILE_PATTERN.match(f.name)) is not None and f.is_file()
        ]
    except OSError as exc:
        raise ValueError(
            f"resume_from: cannot list the folder {str(folder)!r}: {exc.strerror or exc}"
        ) from None
    if not rounds:
        raise ValueError(f"resume_from: the folder {str(folder)!r} holds no checkpoint")
    return max(rounds)[1]


def read_checkpoint(path: Any) -> CheckpointState:
    """Read a checkpoint file, or the latest one in a folder of checkpoints.

    Raises
    ------
    FileNotFoundError
        If there is no such file or folder.
    ValueError
        If it is not a checkpoint: not a saved net, a saved net without training state (a
        plain ``NetSave`` file), or a damaged or newer state.
    """
    if not isinstance(path, str | os.PathLike) or str(path) == "":
        raise TypeError(f"resume_from must be a non-empty str or path-like, got {path!r}")
    p = Path(path)
    if p.is_dir():
        p = _latest(p)
    if p.is_file() and not os.access(p, os.R_OK):
        raise ValueError(f"resume_from: {str(p)!r} cannot be read (permission denied)")
    header, arrays = read_net_file(p, "resume_from")
    if HEADER_KEY not in header:
        raise ValueError(
            f"resume_from: {str(p)!r} is a saved net but not a training checkpoint (it has no "
            "training state; write checkpoints with training_progress_checkpointing)"
        )
    try:
        state = json.loads(header[HEADER_KEY])
    except json.JSONDecodeError as exc:
        raise ValueError(f"resume_from: damaged training state in {str(p)!r}: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"resume_from: damaged training state in {str(p)!r}")
    if not isinstance(state.get("version"), int) or state["version"] > VERSION:
        raise ValueError(
            f"resume_from: {str(p)!r} was written by a newer netchain (checkpoint version "
            f"{state.get('version')!r}; this one reads up to {VERSION})"
        )
    _check_state(state, p)
    net = decode_net(header, arrays, p, "resume_from")

    net_arrays = {path_: dict(layer.arrays) for path_, layer in leaf_layers(net)}
    opt_prefix, best_prefix = f"{EXTRA_PREFIX}optimizer/", f"{EXTRA_PREFIX}best/"
    optimizer = {k[len(opt_prefix) :]: a for k, a in arrays.items() if k.startswith(opt_prefix)}
    if sorted(optimizer) != state["optimizer_arrays"]:
        raise ValueError(
            f"resume_from: damaged checkpoint {str(p)!r}: the optimizer's arrays are not those "
            "it recorded"
        )
    best = None
    if state["best_arrays"] is not None:
        best = [arrays.get(f"{best_prefix}{i}") for i in range(state["best_arrays"])]
        if any(a is None for a in best):
            raise ValueError(f"resume_from: damaged checkpoint {str(p)!r}: a best array is missing")
    for key in ("best_validation_loss", "best_watched"):
        if state.get(key) is None:
            state[key] = math.inf
    state["random_state"] = from_jsonable(state["random_state"])
    return CheckpointState(state, net_arrays, optimizer, best)


STOP_REASONS = ("MaxTrainingRounds", "StoppingCriterion", "TimeGoal", "NonFiniteLoss")


def _is_int(v: Any, low: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_state(state: dict[str, Any], p: Path) -> None:
    """A damaged state (a field missing, of the wrong type or inconsistent with the others)
    is a ValueError here rather than a crash or a silently different run later on."""
    rounds = state.get("rounds")
    checks = {
        "rounds": _is_int(rounds, 1),
        "batches": _is_int(state.get("batches")),
        "since_best": _is_int(state.get("since_best")),
        "optimizer_steps": _is_int(state.get("optimizer_steps")),
        "elapsed": _is_number(state.get("elapsed")),
        "random_state": isinstance(state.get("random_state"), dict),
        "fingerprints": isinstance(state.get("fingerprints"), dict),
        "optimizer_arrays": isinstance(state.get("optimizer_arrays"), list),
        "round_losses": isinstance(state.get("round_losses"), list)
        and len(state["round_losses"]) == rounds
        and all(_is_number(v) for v in state["round_losses"]),
        "validation_losses": isinstance(state.get("validation_losses"), list)
        and len(state["validation_losses"]) in (0, rounds)
        and all(_is_number(v) for v in state["validation_losses"]),
        "stop_reason": "stop_reason" in state
        and (state["stop_reason"] is None or state["stop_reason"] in STOP_REASONS),
        "best_round": "best_round" in state
        and (state["best_round"] is None or _is_int(state["best_round"], 1))
        and (state["best_round"] or 0) <= (rounds if _is_int(rounds) else 0),
        "best_arrays": "best_arrays" in state
        and (state["best_arrays"] is None or _is_int(state["best_arrays"])),
        "best_validation_loss": state.get("best_validation_loss") is None
        or _is_number(state["best_validation_loss"]),
        "best_watched": state.get("best_watched") is None or _is_number(state["best_watched"]),
    }
    for key, ok in checks.items():
        if not ok:
            raise ValueError(
                f"resume_from: damaged training state in {str(p)!r}: {key!r} is "
                f"{state.get(key, 'missing')!r}"
            )
