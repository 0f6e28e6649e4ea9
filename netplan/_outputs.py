"""Which output folders netplan may write, and writing them all or nothing.

Rules (for :meth:`netplan.Plan.to_file` and the command line):

* A new folder is created (with its missing parents); an existing empty folder is used.
* An existing folder is replaced only with ``overwrite=True`` and only when netplan wrote it: it
  holds :data:`MANIFEST_NAME`, which lists the files netplan wrote there. Only those files are
  replaced; any other file in the folder (notes, a QGIS project) is kept.
* Never written: a file, a symbolic link, the current folder or one holding it, the home folder
  or one holding it, an input file or a folder holding one.
* The place must be writable (not a file in the way, not read-only, not a virtual file system
  such as ``/proc``): this is checked before any work, so a plan is never computed for nothing.

Everything is written into a hidden temporary folder beside the target, listed in the manifest
and then moved into place with renames; an error or Ctrl-C before that leaves the previous
output as it was and removes the temporary folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from netplan._errors import OutputExistsError, OutputPathError

__all__ = ["MANIFEST_NAME", "atomic_output_dir", "check_output_dir", "read_manifest"]

log = logging.getLogger(__name__)

MANIFEST_NAME = ".netplan-manifest.json"
"""File in every output folder listing what netplan wrote there (names, sizes, SHA-256)."""

_VIRTUAL_FS = frozenset(
    {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
     "securityfs", "pstore", "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs",
     "binfmt_misc", "efivarfs", "autofs", "rpc_pipefs", "nsfs", "selinuxfs"}
)  # fmt: skip
_OPEN_SUFFIXES = ("-wal", "-shm", "-journal")  # SQLite (GeoPackage) files of an open database


@dataclass(frozen=True)
class _Target:
    path: Path
    shown: str
    kind: Literal["new", "empty", "netplan"]
    manifest: dict[str, Any] | None = None


# ------------------------------------------------------------------------------------ checks
def check_output_dir(
    directory: str | PathLike[str], *, overwrite: bool, inputs: Iterable[str | PathLike[str]] = ()
) -> Path:
    """Fail early, before any work, if the plan may not or cannot be written to ``directory``.

    Parameters
    ----------
    directory
        The output folder.
    overwrite
        Whether a folder netplan wrote before may be replaced.
    inputs
        Input files: the folder may be none of them and hold none of them.

    Returns
    -------
    pathlib.Path
        ``directory`` (``~`` expanded).

    Raises
    ------
    OutputExistsError
        The folder exists and may not be replaced (see the module's rules); the message says why
        and what to do.
    OutputPathError
        The folder cannot be created or written.
    """
    return _inspect(directory, overwrite=overwrite, inputs=inputs).path


def _inspect(
    directory: str | PathLike[str], *, overwrite: bool, inputs: Iterable[str | PathLike[str]]
) -> _Target:
    shown = os.fspath(directory)
    path = Path(directory).expanduser()
    if path.is_symlink():
        raise OutputExistsError(
            f"output folder {shown!r} is a symbolic link; netplan does not write through links: "
            "give the folder it points to, or a new folder"
        )
    if not path.exists():
        _check_writable(_first_existing(path), shown)
        return _Target(path, shown, "new")
    if not path.is_dir():
        raise OutputExistsError(
            f"output folder {shown!r} is an existing file, not a folder; give a folder path "
            "for the output (netplan never replaces a file)"
        )
    _refuse_protected(path, shown, inputs)
    _check_writable(Path(os.path.abspath(path)).parent, shown)
    try:
        entries = sorted(entry.name for entry in path.iterdir())
    except OSError as exc:
        raise OutputPathError(
            f"output folder {shown!r} cannot be read ({exc.strerror}); choose a folder you can "
            "write to"
        ) from exc
    if not entries:
        return _Target(path, shown, "empty")
    manifest = read_manifest(path)
    if manifest is None:
        listing = ", ".join(entries[:5]) + (
            f" and {len(entries) - 5} more" if len(entries) > 5 else ""
        )
        raise OutputExistsError(
            f"output folder {shown!r} exists and netplan did not write it (it holds {listing}); "
            "choose a new or empty folder (overwriting replaces only a folder netplan wrote)"
        )
    if not overwrite:
        raise OutputExistsError(
            f"output folder {shown!r} already holds a plan; choose another folder or pass "
            "overwrite=True (CLI: --overwrite) to replace it"
        )
    _refuse_open_files(path, shown, manifest)
    return _Target(path, shown, "netplan", manifest)


def _first_existing(path: Path) -> Path:
    """The nearest existing folder on the way to ``path`` (absolute)."""
    here = Path(os.path.abspath(path))
    while not os.path.lexists(here):
        here = here.parent
    return here


def _refuse_protected(path: Path, shown: str, inputs: Iterable[str | PathLike[str]]) -> None:
    real = path.resolve()
    reasons: list[tuple[Path, str]] = [(Path.cwd().resolve(), "the current folder")]
    with contextlib.suppress(RuntimeError, KeyError):  # no home folder known
        reasons.append((Path.home().resolve(), "your home folder"))
    why = None
    for other, what in reasons:
        if real == other:
            why = f"it is {what}"
        elif real in other.parents:
            why = f"it holds {what}"
        if why:
            break
    for item in inputs:
        if why:
            break
        source = Path(item).expanduser().resolve()
        if real == source:
            why = f"it is the input {source.name}"
        elif real in source.parents:
            why = f"it holds the input {source.name}"
    if why:
        raise OutputExistsError(
            f"netplan will not write its output into {shown!r}: {why}; give a new folder for "
            "the output (for example a folder 'plan' next to the inputs)"
        )


def _check_writable(folder: Path, shown: str) -> None:
    """The folder that will receive the output (or its temporary folder) accepts new folders."""
    problem = None
    if not folder.is_dir():
        problem = f"{folder} is a file, not a folder"
    elif (fstype := _filesystem_type(folder)) in _VIRTUAL_FS:
        problem = f"{folder} is on the virtual file system {fstype!r}, which holds no files"
    elif hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY:
        problem = f"{folder} is on a read-only file system"
    else:
        probe = folder / f".netplan-probe-{secrets.token_hex(4)}"
        try:
            with _interrupts_deferred():  # never left behind by a Ctrl-C between the two
                probe.mkdir()
                probe.rmdir()
        except OSError as exc:
            problem = f"netplan cannot create folders in {folder} ({exc.strerror})"
    if problem:
        raise OutputPathError(
            f"cannot write the output folder {shown!r}: {problem}; choose a folder you can write to"
        )


def _filesystem_type(folder: Path) -> str | None:
    """The type of the file system holding ``folder`` (Linux ``/proc/self/mounts``), or None."""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    real = str(folder.resolve())
    best, best_len = None, -1
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].encode().decode("unicode_escape")  # \040 for spaces
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best_len:
            best, best_len = fields[2], len(point)
    return best


def _refuse_open_files(path: Path, shown: str, manifest: dict[str, Any]) -> None:
    """A GeoPackage open in QGIS has -wal/-shm files; replacing it then corrupts the new one."""
    for name in _manifest_paths(manifest):
        for suffix in _OPEN_SUFFIXES:
            if (path / (name + suffix)).exists():
                raise OutputExistsError(
                    f"{name} in output folder {shown!r} is open in another program ({name}{suffix} "
                    "exists); close it (e.g. in QGIS) and run again"
                )


# ---------------------------------------------------------------------------------- manifest
def read_manifest(directory: str | PathLike[str]) -> dict[str, Any] | None:
    """The manifest of an output folder netplan wrote, or None when it has none.

    Returns
    -------
    dict or None
        ``{"tool": "netplan", "version": ..., "written": ISO time, "files": [{"path",
        "bytes", "sha256"}, ...]}``; paths are relative to the folder, with ``/``.

    Raises
    ------
    OutputExistsError
        The manifest exists but is unreadable, not netplan's or names paths outside the folder
        (then netplan cannot know which files are its own).
    """
    file = Path(directory) / MANIFEST_NAME
    if not os.path.lexists(file):
        return None
    problem = None
    try:
        if file.is_symlink() or not file.is_file():
            raise ValueError("it is not a regular file")
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("tool") != "netplan":
            raise ValueError("it was not written by netplan")
        _manifest_paths(data)
    except (OSError, ValueError) as exc:
        problem = str(exc)
    if problem:
        raise OutputExistsError(
            f"{os.fspath(directory)!r} holds a {MANIFEST_NAME} that netplan cannot use "
            f"({problem}), so it cannot tell its own files from others; choose a new folder"
        )
    return data


def _manifest_paths(manifest: dict[str, Any]) -> list[str]:
    """The file paths a manifest lists; ValueError when one is not a plain relative path."""
    files = manifest.get("files")
    if not isinstance(files, list):
        raise ValueError("it lists no files")
    paths = []
    for entry in files:
        name = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise ValueError(f"it names {name!r}, which is not a file inside the folder")
        pure = PurePosixPath(name)
        if (
            pure.is_absolute()
            or not pure.parts
            or any(part in ("", ".", "..") for part in pure.parts)
            or "\\" in name
            or name != pure.as_posix()
            or name == MANIFEST_NAME
        ):
            raise ValueError(f"it names {name!r}, which is not a file inside the folder")
        paths.append(name)
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_below(folder: Path) -> list[str]:
    """Relative paths (with ``/``) of the files and links below ``folder``, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        links = [d for d in dirs if (base / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if d not in links)
        for name in [*files, *links]:
            found.append((base / name).relative_to(folder).as_posix())
    return sorted(found)


def _write_manifest(folder: Path) -> None:
    from netplan import __version__

    files = [
        {"path": name, "bytes": (folder / name).stat().st_size, "sha256": _sha256(folder / name)}
        for name in _files_below(folder)
        if name != MANIFEST_NAME
    ]
    manifest = {
        "tool": "netplan",
        "version": __version__,
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": files,
    }
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    (folder / MANIFEST_NAME).write_text(text, encoding="utf-8")


# ------------------------------------------------------------------------------------ writing
@contextlib.contextmanager
def atomic_output_dir(
    directory: str | PathLike[str],
    *,
    overwrite: bool,
    inputs: Iterable[str | PathLike[str]] = (),
) -> Iterator[Path]:
    """A temporary folder whose files become ``directory`` when the ``with`` block succeeds.

    The target is checked first (:func:`check_output_dir`) and again before it is replaced.
    Every file written into the temporary folder is listed in the manifest; files netplan did
    not write in a replaced folder are kept. On an error (or Ctrl-C) inside the block the
    temporary folder is removed and the previous output stays as it was.

    Examples
    --------
    >>> import tempfile
    >>> with atomic_output_dir(Path(tempfile.mkdtemp()) / "out", overwrite=False) as tmp:
    ...     _ = (tmp / "a.csv").write_text("x\\n1\\n")
    >>> [f["path"] for f in read_manifest(tmp.parent / "out")["files"]]
    ['a.csv']
    """
    inputs = tuple(inputs)
    target = _inspect(directory, overwrite=overwrite, inputs=inputs)
    created: list[Path] = []
    tmp: Path | None = None
    try:
        with _interrupts_deferred():  # a signal meanwhile is raised here, and cleaned up below
            created = _make_parents(target.path)
            tmp = _new_folder(target.path, "tmp")
        yield tmp
        _write_manifest(tmp)
        with _interrupts_deferred():
            _commit(tmp, _inspect(directory, overwrite=overwrite, inputs=inputs))
    except BaseException:
        with _interrupts_deferred():
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise


def _make_parents(path: Path) -> list[Path]:
    """Create the missing parents of ``path``; return them, outermost first."""
    missing = []
    parent = Path(os.path.abspath(path)).parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    missing.reverse()
    for folder in missing:
        try:
            folder.mkdir()
        except OSError as exc:
            raise OutputPathError(
                f"cannot create folder {folder} for the output ({exc.strerror}); choose a "
                "folder you can write to"
            ) from exc
    return missing


def _new_folder(target: Path, role: str) -> Path:
    """A new hidden folder beside ``target`` (mode from the umask, unlike ``mkdtemp``)."""
    parent = Path(os.path.abspath(target)).parent
    while True:
        folder = parent / f".{target.name}.netplan-{role}-{secrets.token_hex(4)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block ends, so renames and clean-up are
    never cut in half; a signal that came meanwhile is then handled as it would have been."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for number in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if number is not None and signal.getsignal(number) is not None:
            previous[number] = signal.signal(number, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(caught):
            handler = previous[number]
            if callable(handler):
                handler(number, None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), number)


def _commit(tmp: Path, target: _Target) -> None:
    if target.kind == "new":
        tmp.rename(target.path)
    elif target.kind == "empty":
        _fill_empty(tmp, target.path)
    else:
        _replace(tmp, target)
    log.debug("output folder %s written", target.path)


def _fill_empty(tmp: Path, folder: Path) -> None:
    """Put the files into an existing empty folder (replaced by a rename where possible)."""
    mode = stat.S_IMODE(folder.stat().st_mode)
    try:
        tmp.rename(folder)  # POSIX replaces an empty folder atomically
        folder.chmod(mode)
    except OSError:  # a mount point, or a system that does not replace folders
        for entry in sorted(tmp.iterdir()):
            shutil.move(str(entry), str(folder / entry.name))
        tmp.rmdir()


def _replace(tmp: Path, target: _Target) -> None:
    """Swap a folder netplan wrote for the new one, keeping the files netplan did not write."""
    assert target.manifest is not None
    old = set(_manifest_paths(target.manifest))
    theirs = [p for p in _files_below(target.path) if p not in old and p != MANIFEST_NAME]
    clash = sorted(set(theirs) & set(_files_below(tmp)))
    if clash:
        raise OutputExistsError(
            f"{clash[0]} in output folder {target.shown!r} was not written by netplan, but the "
            "new plan writes a file of that name; move it out of the folder and run again"
        )
    _link_into(target.path, tmp, theirs, target.shown, old)
    _keep_changed(target, tmp)
    shutil.copymode(target.path, tmp)
    backup = _new_folder(target.path, "old")
    try:
        target.path.rename(backup)  # POSIX replaces the empty placeholder
    except BaseException:
        backup.rmdir()
        raise
    try:
        tmp.rename(target.path)
    except BaseException:
        backup.rename(target.path)
        raise
    _remove_old(backup, target.path, old)


def _link_into(
    source: Path,
    dest: Path,
    names: list[str],
    shown: str,
    old: set[str],
    *,
    as_names: list[str] | None = None,
) -> None:
    """Hard-link files netplan did not write into the new folder (under ``as_names`` if
    given), so the swap keeps them; recreate folders netplan did not make, even empty ones."""
    ours = {parent.as_posix() for name in old for parent in PurePosixPath(name).parents}
    for root, dirs, _files in os.walk(source):
        for name in dirs:
            relative = (Path(root) / name).relative_to(source).as_posix()
            if relative not in ours and not (Path(root) / name).is_symlink():
                (dest / relative).mkdir(parents=True, exist_ok=True)
    for name, new_name in zip(names, as_names or names, strict=True):
        (dest / new_name).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source / name, dest / new_name, follow_symlinks=False)
        except OSError as exc:
            raise OutputExistsError(
                f"output folder {shown!r} holds {name}, which netplan did not write and cannot "
                f"keep while replacing the folder on this file system ({exc.strerror}); move it "
                "out of the folder and run again"
            ) from exc


def _keep_changed(target: _Target, tmp: Path) -> None:
    """Keep files netplan wrote but someone changed since (``plan.gpkg`` edited in QGIS): they
    are linked into the new folder as ``plan.changed.gpkg`` (``plan.changed-2.gpkg``, ...)."""
    assert target.manifest is not None
    for entry in target.manifest["files"]:
        path = target.path / entry["path"]
        if not path.is_file() or path.is_symlink():
            continue
        if path.stat().st_size == entry.get("bytes") and _sha256(path) == entry.get("sha256"):
            continue
        pure = PurePosixPath(entry["path"])
        k = 1
        while True:
            tag = "changed" if k == 1 else f"changed-{k}"
            kept = pure.with_name(f"{pure.stem}.{tag}{pure.suffix}").as_posix()
            if not os.path.lexists(tmp / kept) and not os.path.lexists(target.path / kept):
                break
            k += 1
        _link_into(target.path, tmp, [entry["path"]], target.shown, set(), as_names=[kept])
        log.warning(
            "%s: %s was changed after netplan wrote it; kept as %s",
            target.shown,
            entry["path"],
            kept,
        )


def _remove_old(backup: Path, folder: Path, old: set[str]) -> None:
    """Delete the previous output: netplan's files, and the links to files kept in ``folder``."""
    for name in _files_below(backup):
        path = backup / name
        kept = folder / name
        ours = name in old or name == MANIFEST_NAME
        linked = os.path.lexists(kept) and _same_file(path, kept)
        if ours or linked:
            path.unlink()
    for root, _dirs, _files in sorted(os.walk(backup), key=lambda w: -len(w[0])):
        with contextlib.suppress(OSError):
            Path(root).rmdir()
    if backup.exists():
        log.warning(
            "kept %s: it holds files that appeared in %s while netplan replaced it; look "
            "through them and delete the folder",
            backup,
            folder,
        )


def _same_file(a: Path, b: Path) -> bool:
    sa, sb = os.lstat(a), os.lstat(b)
    return (sa.st_ino, sa.st_dev) == (sb.st_ino, sb.st_dev)
