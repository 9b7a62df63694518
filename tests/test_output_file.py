"""``--output``: regular files only, replaced whole, with the usual mode; anything else refused (exit 2)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.io.csv_export import write_csv
from forecasting.io.table_writer import TableWriter
from tests.test_cli_file_mode import write_sales


@pytest.fixture
def sales(tmp_path: Path) -> Path:
    return write_sales(tmp_path / "sales.csv", {"A": [2] * 30, "B": [5] * 30})


def forecast(sales: Path, output: Path, capsys) -> tuple[int, str]:
    code = main(["forecast", "--input", str(sales), "--model", "ma7", "--horizon", "2", "--output", str(output)])
    return code, capsys.readouterr().err


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_an_existing_regular_file_is_replaced_with_the_usual_mode(sales, tmp_path, capsys):
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    os.chmod(out, 0o600)
    previous = os.umask(0o022)
    try:
        code, err = forecast(sales, out, capsys)
    finally:
        os.umask(previous)
    assert code == 0, err
    assert out.read_text().splitlines()[0] == "item_id,date,model,forecast,q0.1,q0.5,q0.9"
    assert len(out.read_text().splitlines()) == 1 + 2 * 2
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # 0666 less the umask, as any new file
    assert leftovers(tmp_path) == []


def test_the_mode_follows_the_umask(sales, tmp_path, capsys):
    out = tmp_path / "out.parquet"
    previous = os.umask(0o027)
    try:
        code, err = forecast(sales, out, capsys)
    finally:
        os.umask(previous)
    assert code == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert len(pd.read_parquet(out)) == 4


def test_a_symlink_is_refused_and_its_target_untouched(sales, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    code, err = forecast(sales, link, capsys)
    assert code == 2
    assert err == f"error: cannot write {link}: it is a symbolic link; outputs replace regular files only\n"
    assert link.is_symlink() and victim.read_text() == "keep me\n"
    assert leftovers(tmp_path) == []


def test_a_fifo_is_refused_before_anything_is_written(sales, tmp_path, capsys):
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    code, err = forecast(sales, fifo, capsys)
    assert code == 2
    assert "it is a FIFO" in err and err.count("\n") == 1
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_file_is_refused_as_root(sales, tmp_path, capsys):
    device = tmp_path / "null"  # a node like /dev/null (same major/minor), so the real one is never at risk
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    code, err = forecast(sales, device, capsys)
    assert code == 2
    assert "it is a device" in err
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_folder_is_refused(sales, tmp_path, capsys):
    folder = tmp_path / "out.csv"
    folder.mkdir()
    code, err = forecast(sales, folder, capsys)
    assert code == 2
    assert "it is a folder" in err
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_a_missing_folder_is_named_with_exit_2(sales, tmp_path, capsys):
    out = tmp_path / "nowhere" / "out.csv"
    code, err = forecast(sales, out, capsys)
    assert code == 2
    assert err == f"error: cannot write {out}: the folder {out.parent} does not exist\n"


def test_write_csv_and_the_database_commands_follow_the_same_rules(tmp_path):
    frame = pd.DataFrame({"a": [1]})
    link = tmp_path / "runs.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(ValueError, match="symbolic link"):
        write_csv(frame, link)
    assert not (tmp_path / "elsewhere.csv").exists()
    out = tmp_path / "ok.csv"
    write_csv(frame, out)
    assert out.read_text() == "a\n1\n"
    with pytest.raises(ValueError, match="does not exist"):
        write_csv(frame, tmp_path / "missing" / "x.csv")


def test_a_failed_write_leaves_the_old_file_and_no_temporary_copy(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old\n")
    with pytest.raises(RuntimeError, match="boom"), TableWriter(out) as writer:
        writer.write(pd.DataFrame({"a": [1]}))
        raise RuntimeError("boom")
    assert out.read_text() == "old\n"
    assert leftovers(tmp_path) == []
