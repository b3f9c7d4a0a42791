"""Resumable early stopping: best-weights restore plus a last-epoch checkpoint on disk."""
from __future__ import annotations

import json
import math
from pathlib import Path

import keras


class RunCheckpoint(keras.callbacks.Callback):
    """Early stopping on ``val_accuracy`` (ties broken by lower ``val_loss``), resumable.

    Without a validation part (no ``val_accuracy`` in the logs) every epoch is
    the best so far: the run keeps its last epoch and never stops early.

    After every epoch it writes ``last.keras`` (model and optimizer), the best
    weights so far (``best.weights.h5``) and ``state.json`` (epoch, best,
    patience counter, history). :meth:`load_state` reads them back so a run
    interrupted at any point continues where it stopped. At the end of
    training the best weights are restored into the model.
    """

    def __init__(self, folder: Path, patience: int):
        super().__init__()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.patience = patience
        self.best = (-math.inf, math.inf)   # (val_accuracy, -val_loss) compared lexicographically
        self.best_epoch = 0
        self.wait = 0
        self.epoch = 0
        self.history: dict[str, list[float]] = {}

    @property
    def last_path(self) -> Path:
        return self.folder / "last.keras"

    @property
    def best_path(self) -> Path:
        return self.folder / "best.weights.h5"

    @property
    def state_path(self) -> Path:
        return self.folder / "state.json"

    def load_state(self) -> None:
        """Restore counters and history from ``state.json``."""
        state = json.loads(self.state_path.read_text())
        self.best = tuple(state["best"])
        self.best_epoch, self.wait, self.epoch = state["best_epoch"], state["wait"], state["epoch"]
        self.history = state["history"]

    def _better(self, logs: dict) -> bool:
        if "val_accuracy" not in logs:
            return True
        acc, loss = logs["val_accuracy"], logs.get("val_loss", math.inf)
        best_acc, best_loss = self.best
        return acc > best_acc + 1e-9 or (abs(acc - best_acc) <= 1e-9 and loss < best_loss)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        self.epoch = epoch + 1
        for k, v in logs.items():
            self.history.setdefault(k, []).append(float(v))
        if self._better(logs):
            self.best = (float(logs.get("val_accuracy", -math.inf)), float(logs.get("val_loss", math.inf)))
            self.best_epoch, self.wait = self.epoch, 0
            self.model.save_weights(self.best_path)
        else:
            self.wait += 1
        self.model.save(self.last_path)
        self.state_path.write_text(json.dumps({
            "epoch": self.epoch, "best": list(self.best), "best_epoch": self.best_epoch,
            "wait": self.wait, "history": self.history}))
        if self.wait >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.best_path.exists():
            self.model.load_weights(self.best_path)
