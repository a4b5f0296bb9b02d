"""The output folder of a training run: its configuration, one writer at a time, safe writes.

`RunFolder(out, kind, configuration)` is what `pretrain` and `finetune` write
through. When the run starts it records the run's whole configuration in
`run.json`; a later run pointed at the same folder is then

- a new run, when the folder is new or empty;
- a resumed run, when the folder holds an unfinished run of the same
  configuration (fields listed in `growable` may grow, e.g. the step count);
- a finished run, when the folder holds a completed run of the same
  configuration: nothing to do;
- refused (`OutputExistsError`, naming what differs), for anything else —
  another configuration, another kind of run, files of something else —
  unless `overwrite=True`.

A lock (`.bertfam.lock`, an advisory `flock` that the system releases when the
process dies, even by SIGKILL; the file is removed when the run ends) keeps a
second process from writing the same folder. Outputs are written under a
temporary name and moved into place (`os.replace`), so a crash or a full disk
never leaves a truncated file under its final name. A run that fails before it
wrote anything worth keeping leaves no folder behind.

Example:

>>> import tempfile
>>> from keras_bertfam.training.run_folder import RunFolder
>>> out = tempfile.mkdtemp() + "/run"
>>> with RunFolder(out, "pretrain", {"train": {"steps": 10}}) as run:
...     run.state
...     _ = run.write_json("summary.json", {"ok": True})
...     run.finish()
'new'
>>> with RunFolder(out, "pretrain", {"train": {"steps": 10}}) as run:
...     run.state
'complete'
>>> RunFolder(out, "pretrain", {"train": {"steps": 20}}).open()
Traceback (most recent call last):
...
keras_bertfam.errors.OutputExistsError: ... train.steps: 10 in the folder, 20 now...
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

from keras_bertfam.errors import OutputExistsError

RUN_FILE = "run.json"
LOCK_FILE = ".bertfam.lock"
PARTIAL = ".partial"
# Scratch folders of the non-chief workers of a multi-worker run live inside the chief's.
_WORKER_SCRATCH = re.compile(r"^\.(worker|chief|evaluator)-\d+$")


def flatten(values: dict, prefix: str = "") -> dict:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}` (lists and scalars are leaves)."""
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def differences(old: dict, new: dict, growable=(), ignored=(), defaults=None) -> list[str]:
    """Fields whose values differ between two configurations, as printable lines.

    A field absent from `old` (a run folder written before the field existed)
    counts as its value in `defaults`, the behaviour it had then.
    """
    old, new, defaults = flatten(old), flatten(new), flatten(defaults or {})
    lines = []
    for name in sorted(set(old) | set(new)):
        if name in ignored:
            continue
        a, b = old.get(name, defaults.get(name, "<absent>")), new.get(name, "<absent>")
        if a == b:
            continue
        numbers = isinstance(a, int | float) and isinstance(b, int | float)
        if name in growable and numbers and b >= a:
            continue
        lines.append(f"{name}: {a!r} in the folder, {b!r} now")
    return lines


class RunFolder:
    """An output folder owned by one run (see the module docstring).

    Args:
        path: the folder.
        kind: what writes it ("pretrain", "finetune"); a folder of another kind is refused.
        configuration: JSON-serializable dict of everything that defines the run.
        overwrite: replace whatever the folder holds instead of refusing.
        growable: dotted field names that may grow when an unfinished run resumes.
        ignored: dotted field names that may differ freely (e.g. verbosity).
        defaults: configuration values of fields a folder written by an older
            version may lack (see `differences`).
        keep: entries a failed new run leaves in place even if nothing else was written
            (checkpoints worth resuming from), e.g. ("backup",).

    Attributes:
        state: "new", "resume" or "complete", once opened.
    """

    def __init__(self, path, kind: str, configuration: dict, overwrite: bool = False,
                 growable=(), ignored=(), keep=(), defaults=None):  # fmt: skip
        self.path = Path(path)
        self.kind = kind
        self.configuration = json.loads(json.dumps(configuration))  # plain JSON values
        self.overwrite = overwrite
        self.growable = tuple(growable)
        self.ignored = tuple(ignored)
        self.keep = tuple(keep)
        self.defaults = json.loads(json.dumps(defaults or {}))
        self.state = None
        self._lock = None
        self._created = False

    # -- opening ------------------------------------------------------------------
    def open(self) -> RunFolder:
        if self.path.exists() and not self.path.is_dir():
            raise OutputExistsError(f"output folder {str(self.path)!r} is a file")
        self._created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._take_lock()
            self.state = self._decide()
        except BaseException:
            self.close(failed=True)
            raise
        return self

    def _take_lock(self):
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform
            return
        path = self.path / LOCK_FILE
        while True:
            handle = open(path, "a+")  # noqa: SIM115 (held until close)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise OutputExistsError(
                    f"{str(self.path)!r} is being written by {holder}; wait for it to finish "
                    "or choose another output folder"
                ) from None
            try:  # the holder before us may have removed the file while we waited for it
                same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        self._lock = handle

    def _contents(self) -> list[str]:
        return sorted(
            p.name
            for p in self.path.iterdir()
            if p.name != LOCK_FILE and not _WORKER_SCRATCH.match(p.name)
        )

    def _decide(self) -> str:
        record = self.read_record()
        contents = self._contents()
        if record is None:
            if not contents:
                self._start()
                return "new"
            if not self.overwrite:
                shown = ", ".join(contents[:5]) + (", ..." if len(contents) > 5 else "")
                raise OutputExistsError(
                    f"{str(self.path)!r} is not empty ({shown}) and holds no {self.kind} run; "
                    "choose a new or empty output folder, or pass --overwrite (overwrite=True) "
                    "to replace what is there"
                )
            self._clear()
            self._start()
            return "new"
        if record.get("kind") != self.kind:
            reason = [f"it holds a {record.get('kind')!r} run, not a {self.kind!r} run"]
        else:
            growable = self.growable if record.get("status") != "complete" else ()
            reason = differences(record.get("configuration", {}), self.configuration,
                                 growable, self.ignored, self.defaults)  # fmt: skip
        if reason and not self.overwrite:
            raise OutputExistsError(
                f"{str(self.path)!r} holds a {record.get('status', 'unfinished')} "
                f"{record.get('kind')} run of another configuration: "
                + "; ".join(reason)
                + ". Choose a new output folder, or pass --overwrite (overwrite=True) to "
                "start again there"
            )
        if reason or self.overwrite:
            self._clear()
            self._start()
            return "new"
        if record.get("status") == "complete":
            return "complete"
        self._write_record({**record, "configuration": self.configuration, "status": "running"})
        return "resume"

    def _clear(self):
        for name in self._contents():
            target = self.path / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()

    def _start(self):
        self._write_record(
            {
                "kind": self.kind,
                "status": "running",
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "configuration": self.configuration,
            }
        )

    # -- the record ---------------------------------------------------------------
    def read_record(self) -> dict | None:
        path = self.path / RUN_FILE
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if not isinstance(record, dict):
            raise OutputExistsError(
                f"{str(path)!r} is not a run record keras_bertfam can read; choose another "
                "output folder or pass --overwrite"
            )
        return record

    def _write_record(self, record: dict):
        self.write_json(RUN_FILE, record)

    def update_record(self, **fields):
        self._write_record({**(self.read_record() or {}), **fields})

    def finish(self, **fields):
        """Mark the run complete (after every output is in place)."""
        self.update_record(status="complete", finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                           **fields)  # fmt: skip

    # -- safe writes --------------------------------------------------------------
    def partial(self, name: str) -> Path:
        """The temporary path to write `name` to before `commit(name)` moves it into place."""
        return self.path / f"{name}{PARTIAL}"

    def commit(self, name: str) -> Path:
        """Move `partial(name)` into place as `name` (replacing a file or a folder)."""
        source, target = self.partial(name), self.path / name
        if source.is_dir() and target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(source, target)
        return target

    def write_text(self, name: str, text: str) -> Path:
        partial = self.partial(name)
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        return self.commit(name)

    def write_json(self, name: str, values) -> Path:
        return self.write_text(name, json.dumps(values, indent=2))

    def save_model(self, model, name: str = "model.keras") -> Path:
        partial = self.partial(name)
        model.save(str(partial) + ".keras")  # Keras insists on the suffix
        os.replace(str(partial) + ".keras", partial)
        return self.commit(name)

    def copy_tokenizer(self, tokenizer, name: str = "tokenizer") -> Path:
        partial = self.partial(name)
        shutil.rmtree(partial, ignore_errors=True)
        tokenizer.copy_files(partial)
        return self.commit(name)

    # -- closing ------------------------------------------------------------------
    def close(self, failed: bool = False):
        """Release the lock; after a failed new run, remove what it wrote if nothing is
        worth keeping (only the record and entries not listed in `keep`)."""
        try:
            if self.state is not None:
                for leftover in self.path.glob(f"*{PARTIAL}*"):
                    shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
            worth_keeping = any(self._worth_keeping(name) for name in self.keep)
            if failed and self.state == "new" and self.path.is_dir() and not worth_keeping:
                self._clear()
            if failed and self._created and self.path.is_dir() and not self._contents():
                (self.path / LOCK_FILE).unlink(missing_ok=True)
                if not any(self.path.iterdir()):
                    self.path.rmdir()
        finally:
            if self._lock is not None:
                (self.path / LOCK_FILE).unlink(missing_ok=True)  # removed while still held
                self._lock.close()
                self._lock = None

    def _worth_keeping(self, name: str) -> bool:
        entry = self.path / name
        return entry.is_file() or (entry.is_dir() and any(entry.iterdir()))

    def __enter__(self) -> RunFolder:
        return self.open() if self.state is None else self

    def __exit__(self, kind, value, traceback):
        self.close(failed=kind is not None)
        return False
