"""Download code end to end against a real HTTP server on 127.0.0.1."""

import hashlib
import io
import json
import tarfile
import time

import pytest

from mtlner.errors import UserError
from mtlner.data.huner.download import DownloadSettings, download_corpus, download_splits

from .server import LocalServer

FAST = DownloadSettings(timeout=0.5, retries=2, backoff=0.01)


@pytest.fixture
def server():
    with LocalServer() as running:
        yield running


@pytest.fixture
def cll_archive(fixtures) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(fixtures / "cll" / "CLL-1.0.2", arcname="CLL-1.0.2")
    return buffer.getvalue()


def spec_for(urls, sha256=None, name="CLL_corpus.tar.gz", manual=None):
    return {"files": [{"name": name, "urls": urls, "sha256": sha256, "extract": True}], "manual": manual}


def test_happy_path_checks_unpacks_and_records(server, cll_archive, tmp_path):
    server.behaviours.routes["/cll.tar.gz"] = ("ok", cll_archive)
    digest = hashlib.sha256(cll_archive).hexdigest()
    data = download_corpus(
        "cll",
        spec_for([server.url("/cll.tar.gz")], digest),
        tmp_path / "cll",
        manual_dir=tmp_path / "manual",
        settings=FAST,
    )
    assert (data / "CLL-1.0.2" / "conll" / "PMC-100.conll").is_file()
    record = json.loads((tmp_path / "cll" / "download.json").read_text())
    assert record["files"][0] == {
        "file": "CLL_corpus.tar.gz",
        "url": server.url("/cll.tar.gz"),
        "sha256": digest,
        "sha256_expected": digest,
        "size": len(cll_archive),
    }


def test_unknown_sha256_logs_observed_value(server, cll_archive, tmp_path, caplog):
    server.behaviours.routes["/cll.tar.gz"] = ("ok", cll_archive)
    caplog.set_level("INFO")
    download_corpus(
        "cll", spec_for([server.url("/cll.tar.gz")]), tmp_path / "cll", manual_dir=tmp_path / "manual", settings=FAST
    )
    assert hashlib.sha256(cll_archive).hexdigest() in caplog.text


def test_404_goes_to_the_mirror_without_retrying(server, cll_archive, tmp_path):
    server.behaviours.routes["/mirror/cll.tar.gz"] = ("ok", cll_archive)
    urls = [server.url("/dead/cll.tar.gz"), server.url("/mirror/cll.tar.gz")]
    download_corpus("cll", spec_for(urls), tmp_path / "cll", manual_dir=tmp_path / "m", settings=FAST)
    assert server.behaviours.hits == ["/dead/cll.tar.gz", "/mirror/cll.tar.gz"]
    assert json.loads((tmp_path / "cll" / "download.json").read_text())["files"][0]["url"] == urls[1]


def test_server_error_is_retried_on_the_same_url(server, cll_archive, tmp_path):
    server.behaviours.routes["/flaky.tar.gz"] = ("fail_then_ok", cll_archive)
    download_corpus(
        "cll", spec_for([server.url("/flaky.tar.gz")]), tmp_path / "cll", manual_dir=tmp_path / "m", settings=FAST
    )
    assert server.behaviours.hits == ["/flaky.tar.gz", "/flaky.tar.gz"]


def test_truncated_file_is_refetched_then_reported_never_kept(server, cll_archive, tmp_path):
    server.behaviours.routes["/cut.tar.gz"] = ("truncated", cll_archive[:1000])
    with pytest.raises(UserError) as error:
        download_corpus(
            "cll",
            spec_for([server.url("/cut.tar.gz")]),
            tmp_path / "cll",
            manual_dir=tmp_path / "m",
            settings=FAST,
            tasks=["cellline_cll"],
        )
    message = str(error.value)
    assert "HUNER corpus 'cll' (tasks cellline_cll)" in message
    assert message.count(server.url("/cut.tar.gz")) == FAST.retries  # re-fetched, every try listed
    assert not (tmp_path / "cll" / "CLL_corpus.tar.gz").exists()
    assert not (tmp_path / "cll" / "download.json").exists()
    assert not list((tmp_path / "cll").glob(".tmp-*"))


def test_wrong_checksum_fails_with_both_values(server, cll_archive, tmp_path):
    server.behaviours.routes["/cll.tar.gz"] = ("ok", cll_archive)
    with pytest.raises(UserError, match=r"sha256 [0-9a-f]{64} != expected 0{64}"):
        download_corpus(
            "cll",
            spec_for([server.url("/cll.tar.gz")], "0" * 64),
            tmp_path / "cll",
            manual_dir=tmp_path / "m",
            settings=FAST,
        )
    assert not (tmp_path / "cll" / "CLL_corpus.tar.gz").exists()


def test_corrupt_archive_with_right_length_is_detected(server, cll_archive, tmp_path):
    corrupt = cll_archive[:200] + b"\0" * (len(cll_archive) - 200)
    server.behaviours.routes["/bad.tar.gz"] = ("ok", corrupt)
    server.behaviours.routes["/good.tar.gz"] = ("ok", cll_archive)
    download_corpus(
        "cll",
        spec_for([server.url("/bad.tar.gz"), server.url("/good.tar.gz")]),
        tmp_path / "cll",
        manual_dir=tmp_path / "m",
        settings=FAST,
    )
    assert (tmp_path / "cll" / "CLL_corpus.tar.gz").read_bytes() == cll_archive


def test_hanging_server_times_out_and_names_every_url(server, tmp_path):
    server.behaviours.routes["/hang.tar.gz"] = ("hang", None)
    started = time.monotonic()
    with pytest.raises(UserError) as error:
        download_corpus(
            "cll",
            spec_for([server.url("/hang.tar.gz"), server.url("/gone.tar.gz")]),
            tmp_path / "cll",
            manual_dir=tmp_path / "m",
            settings=DownloadSettings(timeout=0.3, retries=1, backoff=0.01),
        )
    assert time.monotonic() - started < 3
    message = str(error.value)
    assert server.url("/hang.tar.gz") in message and "timed out" in message
    assert server.url("/gone.tar.gz") in message and "HTTP 404" in message


def test_manual_corpus_names_the_place_to_put_the_file(server, tmp_path):
    with pytest.raises(UserError) as error:
        download_corpus(
            "bc2gm",
            spec_for([server.url("/x.tar.gz")], name="bc2GMtrain_1.1.tar.gz", manual="Download it from BioCreative."),
            tmp_path / "bc2gm",
            manual_dir=tmp_path / "manual",
            settings=FAST,
        )
    message = str(error.value)
    assert "Download it from BioCreative." in message
    assert str(tmp_path / "manual" / "bc2gm" / "bc2GMtrain_1.1.tar.gz") in message


def test_manual_file_is_used_without_network(cll_archive, tmp_path):
    manual = tmp_path / "manual" / "cll"
    manual.mkdir(parents=True)
    (manual / "CLL_corpus.tar.gz").write_bytes(cll_archive)
    data = download_corpus(
        "cll", spec_for(["http://127.0.0.1:9/never"]), tmp_path / "cll", manual_dir=tmp_path / "manual", settings=FAST
    )
    assert (data / "CLL-1.0.2" / "conll" / "PMID-200.conll").is_file()
    assert json.loads((tmp_path / "cll" / "download.json").read_text())["files"][0]["url"].startswith("manual:")


def test_damaged_manual_file_is_rejected(tmp_path):
    manual = tmp_path / "manual" / "cll"
    manual.mkdir(parents=True)
    (manual / "CLL_corpus.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(UserError, match="is damaged"):
        download_corpus("cll", spec_for([]), tmp_path / "cll", manual_dir=tmp_path / "manual", settings=FAST)


def test_plain_gzip_file_is_unpacked(server, tmp_path):
    import gzip

    server.behaviours.routes["/scai_iob.gz"] = ("ok", gzip.compress("Äthyl\tB\n".encode("iso-8859-1")))
    data = download_corpus(
        "scai",
        spec_for([server.url("/scai_iob.gz")], name="corpus_iob.gz"),
        tmp_path / "scai",
        manual_dir=tmp_path / "m",
        settings=FAST,
    )
    assert (data / "corpus_iob").read_bytes() == "Äthyl\tB\n".encode("iso-8859-1")


def test_split_files_download(server, fixtures, tmp_path):
    for part in ("train", "dev", "test"):
        server.behaviours.routes[f"/splits/cll.{part}"] = ("ok", (fixtures / "splits" / f"cll.{part}").read_bytes())
    download_splits("cll", server.url("/splits/"), tmp_path, FAST)
    assert (tmp_path / "cll.train").read_bytes() == b"\r\nPMC-100\r\n"
    assert json.loads((tmp_path / "cll.json").read_text())["split"] == "cll"


def test_a_verified_earlier_file_is_kept_when_another_file_failed(server, cll_archive, tmp_path):
    server.behaviours.routes["/a.tar.gz"] = ("ok", cll_archive)
    spec = {
        "files": [
            {"name": "a.tar.gz", "urls": [server.url("/a.tar.gz")], "sha256": None, "extract": True},
            {"name": "b.tar.gz", "urls": [server.url("/b.tar.gz")], "sha256": None, "extract": True},
        ],
        "manual": None,
    }
    with pytest.raises(UserError, match="b.tar.gz"):
        download_corpus("two", spec, tmp_path / "two", manual_dir=tmp_path / "m", settings=FAST)
    server.behaviours.routes["/b.tar.gz"] = ("ok", cll_archive)
    server.behaviours.hits.clear()
    download_corpus("two", spec, tmp_path / "two", manual_dir=tmp_path / "m", settings=FAST)
    assert server.behaviours.hits == ["/b.tar.gz"]  # a.tar.gz was checked, not fetched again
