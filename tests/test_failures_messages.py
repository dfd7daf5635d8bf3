"""Issue 21 item 3: every failure ends in one line naming the thing at fault and the remedy —
config files (path and line), variables (name, value, form), alert URLs (the channel, never the
secret), the revision guard (count, first example, the command), lock holders (a job's command vs
a reader's program), a full disk or a file-size limit (the path), a read-only ``--out``."""

from __future__ import annotations

import errno
import logging
import os
import resource
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from alvh.cli import app
from alvh.core.errors import ConfigError, ExportError, SourceError
from alvh.core.settings import load_settings
from tests.test_exports_folder import published_warehouse

SECRET = "pw-s3cr3t-9f1"


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_a_toml_syntax_error_names_the_file_line_and_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "alvh.toml"
    cfg.write_text('lock_timeout_s = 5\nwarehouse = "unterminated\n')
    monkeypatch.setenv("ALVH_CONFIG", str(cfg))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(f"config file {cfg}, line 2, column ")
    assert "not valid TOML" in str(err.value) and "\n" not in str(err.value)


def test_a_binary_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "alvh.toml"
    cfg.write_bytes(b"lock_timeout_s = 5\n\x89PNG\r\n\x1a\n\x00\x00")
    monkeypatch.setenv("ALVH_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match=rf"^config file {cfg}, line 2: not UTF-8 text \(byte 0x89\)"):
        load_settings()


def test_a_variable_that_is_not_json_names_variable_value_and_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALVH_LAYER_WEIGHTS", "[0.4,0.4")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == (
        "ALVH_LAYER_WEIGHTS='[0.4,0.4' is not valid JSON for setting layer_weights; expected JSON like "
        "[0.4, 0.4, 0.2] (quote it in the shell: export ALVH_LAYER_WEIGHTS='[0.4, 0.4, 0.2]')"
    )


@pytest.mark.parametrize("var", ["ALVH_WAREHOUSE", "ALVH_EXPORT_DIR", "ALVH_HOME"])
def test_an_empty_path_variable_is_refused_not_the_current_folder(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, "")
    with pytest.raises(ConfigError) as err:
        load_settings()
    name = var.removeprefix("ALVH_").lower()
    assert f"setting {name} ({var}): is empty, which would mean the current folder" in str(err.value)


def test_a_bad_alert_url_is_refused_when_settings_load_naming_the_channel_not_the_secret(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ALVH_ALERT_URL", f"json://127.0.0.1:9/hook mailtos://user:{SECRET}@127.0.0.1:2525")
    with pytest.raises(ConfigError) as err:
        load_settings()
    msg = str(err.value)
    assert not [r for r in caplog.records if SECRET[:2] in r.getMessage() or "127.0.0.1:2525" in r.getMessage()]
    assert "alert_url: channel 2 (mailtos) is not a URL Apprise can send to" in msg and SECRET not in msg
    res = CliRunner().invoke(app, ["settings"])  # shows each channel, valid or not, never the secret
    assert res.exit_code == 1 and SECRET not in res.output
    assert "alert channel 1: json — valid" in res.output
    assert "alert channel 2: mailtos — NOT VALID" in res.output
    monkeypatch.setenv("ALVH_ALERT_URL", f"mailto://alvh:{SECRET}@127.0.0.1:2525?to=t@example.com&from=a@example.com")
    assert load_settings().alert_url is not None  # a usable URL loads


def test_doctor_shows_the_alert_channels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = published_warehouse(tmp_path / "alvh.duckdb", ((date(2025, 1, 2), False, date(2025, 1, 22)),))
    monkeypatch.setenv("ALVH_ALERT_URL", f"mailtos://user:{SECRET}@127.0.0.1:2525")
    res = CliRunner(env={"COLUMNS": "300"}).invoke(app, ["doctor", "--warehouse", str(wh)])
    assert res.exit_code == 1 and SECRET not in res.output
    condensed = "".join(ch for ch in res.output if ch.isalnum())  # the table wraps long cells
    assert "alertsattentionmailtosNOTVALIDfixchannel1mailtosinALVHALERTURLitsalertswouldbelost" in condensed
    assert "user" not in res.output


@pytest.mark.process
def test_settings_validate_a_cron_without_importing_prefect() -> None:
    code = textwrap.dedent(
        """
        import sys
        from alvh.core.errors import ConfigError
        from alvh.core.settings import load_settings
        assert load_settings(daily_cron="0 9 * * MON-FRI").daily_cron == "0 9 * * MON-FRI"
        try:
            load_settings(daily_cron="61 17 * * *")
        except ConfigError as exc:
            print(exc)
        print(sorted(m for m in ("prefect", "pandas", "pandera") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.splitlines() == [
        "invalid configuration — settings: daily_cron '61 17 * * *' is not a valid cron expression (bad minute)",
        "[]",
    ]


def test_a_guard_refusal_keeps_its_count_first_example_and_command() -> None:
    """The message as pipeline.load builds it, from the guard's own reason (40 revised rows)."""
    from alvh.pipeline.wiring import brief_failure
    from alvh.transforms.revision_guard import RevisionGuard, suspect_files

    pending = pl.DataFrame(
        {
            "source_file": ["VIX_History.csv"] * 40,
            "row_key": [f"symbol=VIX, date=2024-01-{i + 1:02d}" for i in range(30)]
            + [f"symbol=VIX, date=2024-02-{i + 1:02d}" for i in range(10)],
            "row_date": [date(2024, 1, i + 1) for i in range(30)] + [date(2024, 2, i + 1) for i in range(10)],
            "column_name": ["close"] * 40,
            "old_value": ["13.4312"] * 40,
            "new_value": ["21.0"] * 40,
        }
    )
    reason = suspect_files(pending, {"VIX_History.csv": 9000}, RevisionGuard(old_before=date(2025, 1, 1)))[
        "VIX_History.csv"
    ]
    err = SourceError(
        reason + " — nothing of it was written",
        file="/data/VIX_History.csv",
        expected="a few recent revisions; to apply it on purpose: alvh ingest --accept-revisions VIX_History.csv",
    )
    brief = brief_failure(str(err))
    assert len(str(err)) > 300 and "\n" not in brief
    assert "would revise 40 stored row(s)" in brief
    assert "e.g. symbol=VIX, date=2024-01-01 close 13.4312 → 21.0 …" in brief
    assert "2024-01-02" not in brief  # only the first example
    assert brief.endswith("to apply it on purpose: alvh ingest --accept-revisions VIX_History.csv")


def test_quotes_import_refusal_is_not_cut_mid_hint(tmp_path: Path) -> None:
    from alvh.pipeline.wiring import brief_failure

    msg = "x" * 400 + "; expected a header of one of the two layouts: alvh quotes import FILE --accept-revisions F"
    assert brief_failure(msg).endswith(
        "; expected a header of one of the two layouts: alvh quotes import FILE --accept-revisions F"
    )


@pytest.mark.process
def test_a_second_job_is_told_the_first_jobs_command_not_a_reader(tmp_path: Path) -> None:
    """The run lock is taken before any DuckDB open: a job waiting on another job names that job's
    command; a reader holding the file is named as a reader."""
    wh = published_warehouse(tmp_path / "alvh.duckdb", ((date(2025, 1, 2), False, date(2025, 1, 22)),))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb\nfrom alvh.warehouse.connection import run_lock\n"
            f"with run_lock({str(wh)!r}), duckdb.connect({str(wh)!r}):\n"
            "    print('held', flush=True); sys.stdin.readline()\n",
            "alvh-run-as-of-2025-01-02",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "held"
        env = {"ALVH_LOCK_TIMEOUT_S": "0.2"}
        res = CliRunner(env=env).invoke(app, ["backfill", "--start", "2025-01-02", "--warehouse", str(wh)])
        text = one_line(res.output)
        assert res.exit_code == 1 and f"PID {holder.pid}" in text and "alvh-run-as-of-2025-01-02" in text
        assert "another job holds the warehouse" in text and "notebook" not in text
        res = CliRunner(env={"ALVH_LOCK_TIMEOUT_S": "2.5"}).invoke(
            app, ["page", "--warehouse", str(wh), "--export-dir", str(tmp_path / "exp")]
        )  # a reader waits lock_timeout_s, then names the job
        text = one_line(res.output)
        assert res.exit_code == 1 and "a job holds the warehouse" in text and "waited 2.5 s" in text
        assert "alvh-run-as-of-2025-01-02" in text
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    reader = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys\nc = duckdb.connect({str(wh)!r}, read_only=True)\n"
         "print('open', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert reader.stdout is not None and reader.stdin is not None
    try:
        assert reader.stdout.readline().strip() == "open"
        res = CliRunner(env={"ALVH_LOCK_TIMEOUT_S": "0"}).invoke(
            app, ["backfill", "--start", "2025-01-02", "--warehouse", str(wh)]
        )
        text = one_line(res.output)
        assert res.exit_code == 1 and f"(PID {reader.pid}), e.g. a notebook or BI tool" in text
    finally:
        reader.stdin.write("\n")
        reader.stdin.flush()
        reader.wait(timeout=30)


@pytest.mark.process
def test_a_second_run_is_told_the_first_runs_command_and_pid_not_a_reader(tmp_path: Path) -> None:
    """A real first `alvh run` holds the run lock while it waits for a reader (a notebook) to
    close the warehouse; a second `alvh run` meets both, and is told of the job — its PID and
    command, as the lock records them — not "close a notebook or BI tool"."""
    from tests.support import waits

    wh = tmp_path / "alvh.duckdb"
    duckdb.connect(str(wh)).close()
    reader = waits.holder(
        f"import duckdb, sys\nc = duckdb.connect({str(wh)!r}, read_only=True)\nprint('open', flush=True)\n"
        "sys.stdin.readline()",
        "open",
    )
    lock = Path(f"{wh}.lock")
    first = subprocess.Popen(
        [sys.executable, "-m", "alvh.cli", "run", "--as-of", "2026-01-07", "--source-dir", str(tmp_path / "src"),
         "--warehouse", str(wh), "--export-dir", str(tmp_path / "exp-1")],
        cwd=waits.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "ALVH_LOCK_TIMEOUT_S": str(waits.CEILING_S)},  # waits for the reader, holding the lock
    )  # fmt: skip
    try:
        holder = ""
        deadline = time.monotonic() + waits.CEILING_S  # a ceiling on a hang: the event is the lock's record
        while not holder.startswith(f"PID {first.pid}: ") and first.poll() is None and time.monotonic() < deadline:
            holder = lock.read_text().strip() if lock.exists() else ""
            time.sleep(0.05)
        assert holder.startswith(f"PID {first.pid}: "), f"the first run never took the lock ({first.poll()=})"
        assert " run --as-of 2026-01-07 " in holder
        res = CliRunner(env={"ALVH_LOCK_TIMEOUT_S": "0.2"}).invoke(
            app, ["run", "--as-of", "2026-01-07", "--warehouse", str(wh), "--export-dir", str(tmp_path / "exp-2")]
        )
        assert res.exit_code == 1 and res.stdout == ""
        assert res.stderr.strip() == (
            f"error: file {wh}: another job holds the warehouse ({holder}); waited 0.2 s — retry later or raise "
            "ALVH_LOCK_TIMEOUT_S"
        )
        assert first.poll() is None  # the first job still holds it (it was not disturbed)
    finally:
        waits.kill(first)
        waits.release(reader)
    assert not (tmp_path / "exp-2" / "current").exists()


def test_a_file_size_limit_names_the_page_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A real RLIMIT_FSIZE (Python ignores SIGXFSZ, so the write fails with EFBIG)."""
    from alvh.warehouse.daily_page import write_text_atomic

    target = tmp_path / "pages" / "2026-01-07.html"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        with pytest.raises(ExportError) as err:
            write_text_atomic(target, "x" * 100_000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert str(err.value).startswith(f"a file-size limit was hit while writing {target}; the partial file was removed")
    assert list((tmp_path / "pages").iterdir()) == []


# The subprocess lowers its file-size limit once the signal is published: the rlimit is per
# process, and the warehouse (tens of MB) is written before any export file and is larger than any
# of them, so a limit in force from the start would fail the publish, not the files after it.
_LIMIT_AFTER_PUBLISH = """
import resource, signal, sys
import alvh.flows.daily as daily

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # as Python sets it at start: a write past the limit fails (EFBIG)

def limited(real):
    def first_write_after_the_publish(*args, **kwargs):
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        return real(*args, **kwargs)
    return first_write_after_the_publish

name = sys.argv.pop(1)  # export_marts (the CSV/Parquet/DuckDB snapshot) or write_page (the daily page)
setattr(daily, name, limited(getattr(daily, name)))
from alvh.cli import main
main()
"""


@pytest.mark.process
@pytest.mark.parametrize("limited", ["export_marts", "write_page"])
def test_run_under_a_file_size_limit_says_the_signal_was_published_and_names_the_path(
    prefect_harness: None, fresh_signal_warehouse: Path, data_dir: Path, tmp_path: Path, limited: str
) -> None:
    """`alvh run` end to end under a real RLIMIT_FSIZE (16 KiB from the first write after the
    publish; SIGXFSZ ignored, so the write fails with EFBIG): the plan is printed, then one line
    saying the signal was published, naming the path that could not be written and the remedy;
    exit 1, no traceback, no partial file left, the published rows stay."""
    from prefect.settings import PREFECT_API_URL

    exports = tmp_path / "exports"
    api = {"PREFECT_API_URL": str(PREFECT_API_URL.value())} if PREFECT_API_URL.value() else {}
    res = subprocess.run(
        [sys.executable, "-c", _LIMIT_AFTER_PUBLISH, limited, "run", "--as-of", "2026-01-07",
         "--source-dir", str(data_dir), "--warehouse", str(fresh_signal_warehouse), "--export-dir", str(exports)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=600,  # a ceiling on a hang only
        env={**os.environ, **api, "ALVH_GX_VALIDATION": "false"},
    )  # fmt: skip
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert res.stderr.strip().count("\n") == 0, res.stderr  # one line
    line = one_line(res.stderr)
    head = "error: the signal was published (plan above), but writing its files failed: "
    assert line.startswith(head), line
    assert "2026-01-07 VIX 15.38" in one_line(res.stdout)  # the plan, printed before the error
    if limited == "write_page":
        from alvh.report.page import PLOTLY_JS

        script = exports.resolve() / "pages" / PLOTLY_JS  # the page's first file: the plotly.js it loads
        assert line == head + (
            f"a file-size limit was hit while writing {script}; the partial file was removed — free space (or raise "
            "the limit) and run again, or choose another place with --export-dir / ALVH_EXPORT_DIR"
        )
        assert list(script.parent.iterdir()) == []  # no page, no script, no temporary file
        assert (exports / "current" / "hedge_signal_daily.csv").is_file()  # the exports before it were written
    else:
        written = line.removeprefix(head).split(": a file-size limit was hit while writing ", 1)[1].split(";")[0]
        assert Path(written).parent.parent == exports / "snapshots", line  # a file of the new snapshot
        assert line.endswith(
            "; nothing was switched (readers keep the previous files) and the partial files were removed — free "
            "space (or raise the limit) and run again, or point --export-dir / ALVH_EXPORT_DIR at another disk"
        )
        assert not Path(written).exists() and not (exports / "current").exists()
        assert [p.name for p in (exports / "snapshots").iterdir()] == []  # no temporary folder left
    with duckdb.connect(str(fresh_signal_warehouse), read_only=True) as con:
        assert con.sql(
            "SELECT count(*) FROM marts.hedge_signal_daily WHERE session_date = '2026-01-07'"
        ).fetchall() == [(1,)]


def test_orders_export_to_a_read_only_place_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import alvh.warehouse.daily_page as daily_page

    wh = published_warehouse(tmp_path / "alvh.duckdb", ((date(2025, 1, 2), False, date(2025, 1, 22)),))

    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(kwargs.get("dir")))

    monkeypatch.setattr(daily_page.tempfile, "mkstemp", read_only)
    out = tmp_path / "ro" / "basket.csv"
    res = CliRunner().invoke(app, ["orders", "export", "--force", "--warehouse", str(wh), "--out", str(out)])
    assert res.exit_code == 1
    assert one_line(res.output) == (
        f"error: cannot write {out} (Read-only file system); choose a writable place with --out"
    )
