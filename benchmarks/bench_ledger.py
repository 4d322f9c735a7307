"""Benchmark of ``fanpin ledger import`` against a plain baseline measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_ledger.py [--rows 100000]`` (PostgreSQL too when
``FANPIN_FORMS_TEST_PG_URL`` is set, e.g. through ``scripts/test-services.sh``).

Data: N made-up households (the household sheet's 11 columns, valid ID check digits, all
distinct), written once to an .xlsx.

1. Import. Baseline: openpyxl ``read_only`` over the sheet and one ``INSERT`` per row
   (11 text columns, no validation) into one table, one transaction, through the same
   SQLAlchemy engine. Product: ``import_file`` as ``fanpin ledger import`` calls it (header
   match, every value parsed and checked, upsert, field values with provenance, audit
   rows). Rows per second of each; each run in a fresh child process on a fresh database.
2. Re-import of the same file (every household 未变): the idempotent path.
3. Memory: the child's peak RSS (``VmHWM``) for N/10 and N rows.
4. ``ledger status`` (stages, overdue, forms not returned) and ``report monthly`` (.xlsx) over
   N cases of a sheet that also has the case dates (spread over every stage), imported
   first into a fresh database; seconds and peak RSS of each, in one child process.
The figures are printed as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# both bundled counties are installed: the benchmarks measure Yueyang's forms (children inherit it)
os.environ.setdefault("FANPIN_FORMS_COUNTY", "yueyang")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


#: the case dates of the status/report sheet, in procedure order
DATES = ("风险发现日期", "入户核实日期", "民主评议日期", "公示开始日期", "公示结束日期", "乡镇审核日期", "县级审定日期",
         "帮扶措施制定日期", "系统录入日期")


def make_sheet(path: Path, n: int, *, dates: bool = False) -> None:
    from openpyxl import Workbook

    from fanpin_forms.privacy.idcard import check_char

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    ws.append(["户编号", "户主姓名", "身份证号码", "家庭人口", "联系电话", "乡镇（街道）", "村（社区）", "村民小组",
               "三保障问题", "风险类型", "其他原因", *(DATES if dates else ())])
    for i in range(n):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=i // 1000)  # 1000 people per birth date
        first17 = f"430621{born:%Y%m%d}{i % 1000:03d}"
        row = [f"B-{i:07d}", f"户主{i}", first17 + check_char(first17), 1 + i % 8, f"138{i:08d}"[:11],
               f"第{i % 20}镇", f"第{i % 300}村", f"{i % 9 + 1}组", None, "⑥", None]
        if dates:  # found on one of 180 days, 0..9 steps done, 2 days apart
            found = dt.date(2022, 1, 1) + dt.timedelta(days=i % 180)
            steps = i % (len(DATES) + 1)
            row += [found + dt.timedelta(days=2 * k) if k < steps else None for k in range(len(DATES))]
        ws.append(row)
    wb.save(path)


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(kind: str, url: str, sheet: str) -> None:
    """One measurement in this process; prints JSON."""
    from fanpin_forms.app import App
    from fanpin_forms.ledger.db import Ledger

    app = App()
    if kind == "status":
        from fanpin_forms.ledger.report import monthly, write
        from fanpin_forms.ledger.status import status

        ledger = Ledger.open(url)
        setup = app.ledger_setup()
        t = time.perf_counter()
        st = status(setup, ledger, dt.date(2022, 6, 30), keep=20)
        status_s = time.perf_counter() - t
        t = time.perf_counter()
        write(monthly(setup, ledger, "2022-06"), Path(sheet).with_name("月报.xlsx"))
        report_s = time.perf_counter() - t
        ledger.close()
        print(json.dumps({"cases": st.total, "overdue": len(st.overdue), "status_seconds": round(status_s, 2),
                          "report_monthly_seconds": round(report_s, 2), "peak_rss_mb": round(peak_rss_kb() / 1024)}))
        return
    if kind == "baseline":
        import sqlalchemy as sa
        from openpyxl import load_workbook

        ledger = Ledger.open(url, upgrade=False)
        with ledger.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS plain")
            conn.exec_driver_sql("CREATE TABLE plain (" + ", ".join(f"c{i} TEXT" for i in range(11)) + ")")
        t = time.perf_counter()
        rows = 0
        stmt = sa.text("INSERT INTO plain VALUES (" + ", ".join(f":c{i}" for i in range(11)) + ")")
        with ledger.engine.begin() as conn:
            ws = load_workbook(sheet, read_only=True).active
            for values in ws.iter_rows(min_row=2, values_only=True):
                cells = list(values[:11]) + [None] * (11 - len(values))
                conn.execute(stmt, {f"c{i}": None if v is None else str(v) for i, v in enumerate(cells)})
                rows += 1
        seconds = time.perf_counter() - t
        with ledger.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE plain")
    else:
        from fanpin_forms.ledger.importer import import_file

        ledger = Ledger.open(url)
        t = time.perf_counter()
        result = import_file(app.ledger_setup(), ledger, Path(sheet))
        seconds = time.perf_counter() - t
        rows = result.added + result.updated + result.unchanged
    ledger.close()
    print(json.dumps({"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
                      "peak_rss_mb": round(peak_rss_kb() / 1024)}))


def run_child(kind: str, url: str, sheet: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, __file__, "--child", kind, url, str(sheet)], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{kind} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh(url_kind: str, tmp: Path, tag: str) -> str:
    if url_kind == "sqlite":
        return str(tmp / f"{tag}.sqlite3")
    import sqlalchemy as sa

    url = os.environ["FANPIN_FORMS_TEST_PG_URL"]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--child", nargs=3)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("FANPIN_FORMS_TEST_PG_URL") else [])
    report: dict = {"rows": args.rows, "backends": {}}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ.setdefault("FANPIN_FORMS_HOME", str(tmp / "home"))
        small, big = tmp / "small.xlsx", tmp / "big.xlsx"
        make_sheet(small, max(args.rows // 10, 1))
        make_sheet(big, args.rows)
        dated = tmp / "dated.xlsx"
        make_sheet(dated, args.rows, dates=True)
        for backend in backends:
            r: dict = {}
            r["baseline"] = run_child("baseline", fresh(backend, tmp, "base"), big)
            url = fresh(backend, tmp, "prod")
            r["import"] = run_child("import", url, big)
            r["reimport_unchanged"] = run_child("import", url, big)
            r["import_small"] = run_child("import", fresh(backend, tmp, "small"), small)
            r["speed_vs_baseline"] = round(r["import"]["rows_per_s"] / r["baseline"]["rows_per_s"], 2)
            r["peak_rss_mb_small_vs_big"] = [r["import_small"]["peak_rss_mb"], r["import"]["peak_rss_mb"]]
            url = fresh(backend, tmp, "status")
            r["import_dated"] = run_child("import", url, dated)
            r["status_and_report"] = run_child("status", url, dated)
            report["backends"][backend] = r
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
