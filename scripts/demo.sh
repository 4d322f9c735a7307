#!/usr/bin/env bash
# The main job on the bundled sample data: a Yueyang village's spreadsheet of 20
# made-up households (samples/households.xlsx). For each of the three annex forms:
# validate every row, then write one Word file per household and one merged PDF
# for a single print job. Also checks the sample case ledger against the county's
# time limits, writes the two public notices, and reads a sample of scanned signed
# returns back into records with a review page. All of it on one case ledger
# (demo-output/台账.sqlite3): the households and their timelines are imported first
# (the two sample sheets are the same people with the same 户编号), every printed form is
# recorded, the scans are attached to their cases, then the ledger's status, the check
# report and the monthly report are shown. Output: demo-output/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
FANPIN=${FANPIN:-$ROOT/.venv/bin/fanpin}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
DATA=samples/households.xlsx
LEDGER=samples/ledger.xlsx
FINAL=demo-output
OUT="$FINAL.new"   # built beside the previous output, which is replaced only when this run succeeds
YEAR=2022   # the sample households are of 2022: the year whose income baseline (6900) is printed
# Two counties are installed (plugins/yueyang, plugins/pingjiang): the demo is Yueyang's,
# with a short 平江县 part at the end.
export FANPIN_FORMS_COUNTY=yueyang

rm -rf "$OUT"
mkdir -p "$OUT"
DB="$OUT/台账.sqlite3"   # the demo's own case ledger, renamed with the rest of the output
echo "==> 输出写入 $OUT，全部成功后改名为 $FINAL / output goes to $OUT, renamed to $FINAL when everything succeeded"
echo "==> 可用表单 / forms"
$FANPIN forms
echo
echo "==> 台账：导入农户和案件时间线 / the case ledger: import the households, then their timelines ($DB)"
$FANPIN ledger import "$DATA" --db "$DB"
$FANPIN ledger import "$LEDGER" --db "$DB"
for form in annex1 annex2 annex3; do
    echo
    echo "==> $form: 校验并填表，记入台账 / validate, fill and record in the ledger ($DATA)"
    $FANPIN validate "$form" --data "$DATA"
    $FANPIN fill "$form" --data "$DATA" --year "$YEAR" -o "$OUT/$form" --merge "$OUT/$form-打印.pdf" --ledger --db "$DB"
done
echo
echo "==> 空白表 / 10 blank annex-1 forms for households that apply on paper, issued to the village"
$FANPIN blank annex1 --copies 10 --year "$YEAR" -o "$OUT/annex1-空白表.pdf" --ledger --township 荣家湾镇 --village 杨林村 --db "$DB"
echo
echo "==> 公示公告 / public notices (no ID numbers, phones, bank accounts or health details)"
$FANPIN --db "$DB" notice village -o "$OUT/村级公示"
$FANPIN --db "$DB" notice county -o "$OUT/县级公告"
echo
echo "==> 模拟回收的签字扫描件 / simulate signed returns (8 scanned pages, QR codes signed with this machine's key)"
# made here rather than shipped: a form's QR code is authenticated with this installation's
# secret key (see fanpin_forms/secret.py), so scans printed on another machine would all go to review
$PYTHON samples/make_scans.py "$OUT/回收扫描件.pdf" > /dev/null
echo
echo "==> 读取回收的签字扫描件，写入台账 / read signed returns back into the ledger ($OUT/回收扫描件.pdf)"
# run inside the output folder, so the file names the records and the review page cite stay true after the rename
(cd "$OUT" && $FANPIN parse 回收扫描件.pdf --data "$ROOT/$DATA" -o 识别结果.jsonl --review 人工复核 --ledger --db 台账.sqlite3)
echo
echo "==> 程序时限检查 / case rules over the ledger (as of 2022-12-31)"
$FANPIN --db "$DB" check --as-of 2022-12-31 > "$OUT/程序检查.txt" || true
tail -n 1 "$OUT/程序检查.txt"
echo "    完整结果 / full report: $OUT/程序检查.txt"
echo
echo "==> 台账进度 / cases by stage (as of 2022-12-31)"
$FANPIN ledger status --db "$DB" --as-of 2022-12-31
echo
echo "==> 月报 / the monthly township report (2022-07)"
$FANPIN report monthly --month 2022-07 -o "$OUT/月报.xlsx" --db "$DB"
echo "==> 平江县：家庭成员信息表（空白，成员表留空行手写）、附表10（核查组两人签字）/ Pingjiang: its member form and elimination form, blank"
FANPIN_FORMS_COUNTY=pingjiang $FANPIN blank pj_members --copies 2 --year "$YEAR" -o "$OUT/平江县-家庭成员信息表-空白表.pdf"
$FANPIN --county pingjiang blank annex3 --year "$YEAR" -o "$OUT/平江县-附表10-空白表.pdf"
echo
rm -rf "$FINAL.old"
[ -e "$FINAL" ] && mv "$FINAL" "$FINAL.old"
mv "$OUT" "$FINAL"
rm -rf "$FINAL.old"
OUT="$FINAL"
echo
echo "完成 / done. 打印文件 / print files:"
ls -1 "$OUT"/*.pdf
echo "识别结果 / records read back: $OUT/识别结果.jsonl；人工复核 / review page: $OUT/人工复核/review.html"
echo "台账 / the case ledger: $OUT/台账.sqlite3（fanpin ledger export --db $OUT/台账.sqlite3 -o 台账.xlsx）"
