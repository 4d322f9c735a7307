#!/usr/bin/env bash
# The main job on the bundled sample data: a Yueyang village's spreadsheet of 20
# made-up households. Output goes to demo-output/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FANPIN=.venv/bin/fanpin
DATA=samples/households.xlsx
OUT=demo-output

echo "==> 可用表单 / forms"
$FANPIN forms
echo
for form in annex1 annex2 annex3; do
    echo "==> 校验 / validate $form: $DATA"
    $FANPIN validate "$form" --data "$DATA"
done
