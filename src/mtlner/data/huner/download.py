"""Robust downloads of HUNER corpora and split files.

Each file is streamed to a temporary file beside its target, checked (size > 0, sha256 when
the registry knows it, archive integrity for zip/tar/gz) and only then renamed into place.
Network errors, truncated bodies and failed checks are retried with exponential backoff;
URLs are tried in registry order (primary, then mirrors). When everything fails a
:class:`UserError` names the task/corpus and every URL tried with its error.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from mtlner.atomic import atomic_path, write_json
from mtlner.errors import UserError

log = logging.getLogger(__name__)

CHUNK = 1 << 16
USER_AGENT = "mtlner-huner/0.1 (+https://github.com/hu-ner/huner)"


@dataclass
class DownloadSettings:
    timeout: float = 60.0  # seconds without data before a connection is given up
    retries: int = 3  # attempts per URL
    backoff: float = 2.0  # first wait between attempts; doubles each time


class CheckFailed(Exception):
    """A fetched file is not what we expect (truncated, wrong checksum, corrupt archive)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_archive(path: Path, name: str) -> None:
    """Raise CheckFailed unless ``path`` (called ``name``) is a readable, complete archive.

    A gzip stream is read to its end first (its CRC and length trailer catch truncation and
    corruption that tarfile alone would take for the end of the archive).
    """
    try:
        if name.endswith((".gz", ".tgz")):
            with gzip.open(path) as source:
                while source.read(CHUNK):
                    pass
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
                if bad is not None:
                    raise CheckFailed(f"corrupt member {bad!r} in zip")
        elif _is_tar(name):
            with tarfile.open(path) as archive:
                members = 0
                for member in archive:
                    members += 1
                    if member.isfile():
                        source = archive.extractfile(member)
                        while source.read(CHUNK):
                            pass
                if not members:
                    raise CheckFailed("tar archive has no members")
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, OSError, EOFError) as error:
        raise CheckFailed(f"not a valid archive: {error}") from error


def _is_tar(name: str) -> bool:
    return name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2"))


def fetch_url(url: str, target: Path, *, sha256: str | None, timeout: float) -> str:
    """Download ``url`` to ``target`` atomically after all checks; return the observed sha256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{target.name}-", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            expected_length = response.headers.get("Content-Length")
            received = 0
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                received += len(block)
        if expected_length is not None and received != int(expected_length):
            raise CheckFailed(f"truncated: got {received} of {expected_length} bytes")
        if received == 0:
            raise CheckFailed("empty response")
        observed = sha256_of(tmp)
        if sha256 and observed != sha256.lower():
            raise CheckFailed(f"sha256 {observed} != expected {sha256}")
        check_archive(tmp, target.name)
        os.replace(tmp, target)
        return observed
    finally:
        if tmp.exists():
            tmp.unlink()


def fetch_with_mirrors(
    urls: list[str], target: Path, *, sha256: str | None, settings: DownloadSettings, what: str
) -> dict:
    """Try every URL (with retries) until one passes the checks; return a provenance record."""
    errors: list[str] = []
    for url in urls:
        wait = settings.backoff
        for attempt in range(1, settings.retries + 1):
            try:
                observed = fetch_url(url, target, sha256=sha256, timeout=settings.timeout)
            except (urllib.error.URLError, http.client.HTTPException, OSError, CheckFailed, ValueError) as error:
                errors.append(f"{url} (attempt {attempt}): {_describe(error)}")
                log.warning("%s: %s", what, errors[-1])
                if isinstance(error, urllib.error.HTTPError) and 400 <= error.code < 500:
                    break  # 404/403 will not change on retry: go to the next mirror
                if attempt < settings.retries:
                    time.sleep(wait)
                    wait *= 2
                continue
            if sha256 is None:
                log.info("%s: no sha256 in registry; observed %s", what, observed)
            return {
                "file": target.name,
                "url": url,
                "sha256": observed,
                "sha256_expected": sha256,
                "size": target.stat().st_size,
            }
    tried = "\n    ".join(errors) if errors else "(no URL in the registry)"
    raise UserError(f"{what}: could not download {target.name}; tried:\n    {tried}")


def _describe(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"{type(error.reason).__name__}: {error.reason}"
    return f"{type(error).__name__}: {error}"


def extract(archive: Path, name: str, destination: Path) -> None:
    """Unpack zip/tar/gz ``archive`` into ``destination`` (no paths outside it)."""
    destination.mkdir(parents=True, exist_ok=True)
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as handle:
            for member in handle.namelist():
                if os.path.isabs(member) or ".." in Path(member).parts:
                    raise UserError(f"{archive}: unsafe member path {member!r}")
            handle.extractall(destination)
    elif _is_tar(name):
        with tarfile.open(archive) as handle:
            handle.extractall(destination, filter="data")
    elif name.endswith(".gz"):
        with gzip.open(archive) as source, open(destination / name[: -len(".gz")], "wb") as out:
            shutil.copyfileobj(source, out)
    else:
        shutil.copyfile(archive, destination / name)


def download_corpus(
    corpus: str,
    spec: dict,
    out_dir: Path,
    *,
    manual_dir: Path,
    settings: DownloadSettings,
    tasks: list[str] | None = None,
) -> Path:
    """Fetch every file of ``corpus`` into ``out_dir``, unpack into ``out_dir/data``.

    Writes ``out_dir/download.json`` (URL used, observed sha256, size per file) last, so its
    presence means the corpus is complete. A file found under ``manual_dir/<corpus>/`` is used
    instead of downloading (after the same checks).
    """
    what = f"HUNER corpus {corpus!r}" + (f" (tasks {', '.join(tasks)})" if tasks else "")
    records = []
    for entry in spec["files"]:
        target = out_dir / entry["name"]
        manual_file = manual_dir / corpus / entry["name"]
        if manual_file.is_file():
            records.append(_use_manual_file(manual_file, target, entry.get("sha256"), what))
            continue
        if target.is_file() and _still_valid(target, entry.get("sha256")):
            # kept from an earlier, partly failed run of this corpus (other file failed)
            records.append(
                {
                    "file": target.name,
                    "url": "kept from an earlier run",
                    "sha256": sha256_of(target),
                    "sha256_expected": entry.get("sha256"),
                    "size": target.stat().st_size,
                }
            )
            continue
        try:
            records.append(
                fetch_with_mirrors(entry["urls"], target, sha256=entry.get("sha256"), settings=settings, what=what)
            )
        except UserError as error:
            if spec.get("manual"):
                raise UserError(
                    f"{error}\n  {spec['manual'].strip()}",
                    hint=f"put the file at {manual_file} and run the workflow again",
                ) from None
            raise
    with atomic_path(out_dir / "data") as tmp:
        for entry in spec["files"]:
            target = out_dir / entry["name"]
            if entry.get("extract", True):
                extract(target, entry["name"], tmp)
            else:
                tmp.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(target, tmp / entry["name"])
    write_json(out_dir / "download.json", {"corpus": corpus, "files": records})
    return out_dir / "data"


def _still_valid(path: Path, sha256: str | None) -> bool:
    if sha256 and sha256_of(path) != sha256.lower():
        return False
    try:
        check_archive(path, path.name)
    except CheckFailed:
        return False
    return path.stat().st_size > 0


def _use_manual_file(source: Path, target: Path, sha256: str | None, what: str) -> dict:
    observed = sha256_of(source)
    if sha256 and observed != sha256.lower():
        raise UserError(
            f"{what}: {source} has sha256 {observed}, expected {sha256}",
            hint="the file is not the expected release; download it again",
        )
    try:
        check_archive(source, source.name)
    except CheckFailed as error:
        raise UserError(f"{what}: {source} is damaged ({error})", hint="download it again") from None
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return {
        "file": target.name,
        "url": f"manual:{source}",
        "sha256": observed,
        "sha256_expected": sha256,
        "size": target.stat().st_size,
    }


def download_splits(split_name: str, url_base: str, out_dir: Path, settings: DownloadSettings) -> None:
    """Fetch HUNER's ``<split_name>.{train,dev,test}`` document-ID lists into ``out_dir``."""
    records = []
    for part in ("train", "dev", "test"):
        file_name = f"{split_name}.{part}"
        records.append(
            fetch_with_mirrors(
                [f"{url_base.rstrip('/')}/{file_name}"],
                out_dir / file_name,
                sha256=None,
                settings=settings,
                what=f"HUNER split files {split_name!r}",
            )
        )
    write_json(out_dir / f"{split_name}.json", {"split": split_name, "files": records})
