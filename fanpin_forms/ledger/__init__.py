"""The case ledger (台账): one database at the centre, SQLite by default, PostgreSQL by URL.

* ``models``   — SQLAlchemy 2 typed models of every table (households … audit)
* ``migrations/`` — Alembic revisions, run in code by ``db`` (no alembic.ini)
* ``db``       — URL, engine, ``Ledger.open`` (create 0600, migrate, refuse newer/foreign/corrupt), one
  transaction per write, driver errors as Chinese messages
* ``sheet``    — a clerk's sheet in chunks (python-calamine for .xls/.ods, ``xlsxstream`` for .xlsx, the
  intake reader for .csv)
* ``xlsxstream`` — an .xlsx sheet row by row (lxml over openpyxl's workbook parts): flat memory
* ``importer`` — validate with the intake code, upsert by 户编号 or ID number, conflicts, audit rows
* ``bulk``     — new rows in few round trips (executemany on SQLite, COPY on PostgreSQL)
* ``export``   — the re-importable layout and the national system's columns
* ``records``  — the ledger's cases as intake Records for ``check`` and ``notice``
* ``values``, ``audit`` — stored/masked values; actor, operations, the append-only guard
* ``status``   — each case's stage and lateness from its dates and the County's limits; forms not returned
* ``history``  — one household's audit rows, masked
* ``policy``   — policy values set by the county office (baselines) that override the plugin's
* ``report``   — the monthly township report (.xlsx/.docx), leak-guarded
* ``evidence`` — evidence of a disputed household (存在较大争议), checked, stored once
* ``archive``  — one village's archive: a folder per case and 汇总表.xlsx, written whole or not at all
"""
