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

    With ``average_last`` N > 0 there is no early stopping: the weights of
    each of the last N of ``epochs`` are kept on disk and at the end the model
    gets their mean (batch-norm statistics included), which is also what
    ``best.weights.h5`` then holds.
    """

    def __init__(self, folder: Path, patience: int, average_last: int = 0, epochs: int = 0):
        super().__init__()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.patience = patience
        self.average_last = average_last
        self.epochs = epochs
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

    @property
    def averaged_epochs(self) -> range:
        """The epochs (1-based) whose weights are averaged; empty without ``average_last``."""
        return range(max(1, self.epochs - self.average_last + 1), self.epochs + 1) if self.average_last else range(0)

    @property
    def kept(self) -> str:
        """Which weights the model ends with, in words."""
        if self.average_last:
            epochs = self.averaged_epochs
            return f"mean of epochs {epochs[0]}-{epochs[-1]}" if len(epochs) > 1 else f"epoch {self.epochs}"
        return f"epoch {self.best_epoch}" + (" (best validation)" if math.isfinite(self.best[0]) else "")

    def epoch_path(self, epoch: int) -> Path:
        return self.folder / f"epoch{epoch:03d}.weights.h5"

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
        if self.average_last:
            self.best_epoch = self.epoch
            if self.epoch in self.averaged_epochs:
                self.model.save_weights(self.epoch_path(self.epoch))
        elif self._better(logs):
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
        if self.average_last:
            self.average_weights()
        if self.best_path.exists():
            self.model.load_weights(self.best_path)

    def average_weights(self) -> None:
        """Write the mean of the kept epochs' weights to ``best.weights.h5`` (and drop the epoch files)."""
        files = [self.epoch_path(e) for e in self.averaged_epochs if self.epoch_path(e).exists()]
        if not files:
            return
        total = None
        for f in files:
            self.model.load_weights(f)
            weights = self.model.get_weights()
            total = weights if total is None else [t + w for t, w in zip(total, weights)]
        self.model.set_weights([t / len(files) for t in total])
        self.model.save_weights(self.best_path)
        for f in files:
            f.unlink()
