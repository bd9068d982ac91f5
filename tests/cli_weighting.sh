#!/bin/bash
# weighting strategies from the command line: every strategy trains a short run and logs
# its per-task weights, the study table, and the errors of bad strategy flags.
mtl=${1:?usage: cli_weighting.sh path/to/mtl}
. "$(dirname "$0")/lib_cli.sh"
D="--data sim --sim-seconds 2 --window 256 --stride 256 --split random --train-per-class 6 --val-per-class 3 --test-per-class 6 --norm zscore --quiet --threads 2"
R="--epochs 3 --batch-size 20 --lr 0.003 --seeds 1 --no-report"
ALL=$("$mtl" info | sed -n '/^weighting strategies/,$p' | awk 'NR > 1 { print $1 }')

check "mtl info lists the 15 strategies" bash -c "[ \$(echo '$ALL' | wc -w) -eq 15 ]"
for w in $ALL; do
    check "train under $w logs finite per-task weights every epoch" bash -c "
        '$mtl' train $D $R --model mt1dcnn --weighting $w --out '$tmp/$w' >/dev/null || exit 1
        awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if (\$i ~ /_weight\$/) c[++n] = i; next }
                 { rows++; for (j = 1; j <= n; j++) if (\$c[j] !~ /^-?[0-9]/) bad = 1 }
                 END { exit !(n == 2 && rows == 3 && !bad) }' '$tmp/$w/log.csv'"
done
check "the representation gradient trains (mgda = MGDA-UB on mt1dcnn's trunk output)" \
    "$mtl" train $D $R --model mt1dcnn --weighting mgda --mgda-norm loss+ --rep-grad
check "--rep-grad has no effect on a loss-only strategy (the same log as without it)" bash -c "
    '$mtl' train $D $R --model mtagn --weighting dwa --rep-grad --out '$tmp/rg1' >/dev/null &&
    '$mtl' train $D $R --model mtagn --weighting dwa --out '$tmp/rg0' >/dev/null || exit 1
    cmp <(cut -d, -f1-13 '$tmp/rg0/log.csv') <(cut -d, -f1-13 '$tmp/rg1/log.csv')"
check "study prints one row per strategy, the baseline and Delta_m; writes CSV and markdown" bash -c "
    '$mtl' study $D $R --window 1024 --stride 1024 --models mt1dcnn --weightings ew,pcgrad,uw --baseline wdcnn --out '$tmp/study' > '$tmp/study.txt' || exit 1
    grep -q 'Delta_m' '$tmp/study.txt' && grep -q 'pcgrad' '$tmp/study.txt' && grep -q 'single-task baseline' '$tmp/study.txt' || exit 1
    [ \$(wc -l < '$tmp/study/study.csv') -eq 5 ] && [ -s '$tmp/study/study.md' ] && [ -s '$tmp/study/mt1dcnn-pcgrad/log.csv' ]"
# three tasks on a small table: every gradient strategy with K = 3
awk 'BEGIN { srand(3); split("red green blue", col, " "); print "color,size,weight,a,b,c";
    for (i = 1; i <= 400; i++) { c = col[int(rand() * 3) + 1]; s = int(rand() * 4); w = rand() * 10;
        a = (c == "red" || w > 7) ? "yes" : "no"; b = (s >= 2) ? "big" : (s == 1 ? "mid" : "small");
        t = (c == "blue") ? "yes" : "no"; printf "%s,%d,%.3f,%s,%s,%s\n", c, s, w, a, b, t } }' > "$tmp/t3.csv"
head -201 "$tmp/t3.csv" > "$tmp/t3test.csv"
printf 'delimiter ","\nheader yes\ncolumn color nominal\ncolumn size nominal\ncolumn weight continuous\ncolumn a nominal\ncolumn b nominal\ncolumn c nominal\ntask a binary a yes\ntask b multiclass b\ntask c binary c yes\n' > "$tmp/t3.desc"
T3="--data table --schema $tmp/t3.desc --train-file $tmp/t3.csv --test-file $tmp/t3test.csv --quiet --threads 2 --epochs 2 --batch-size 64 --units 8 --experts 2 --tower 8 --seeds 1 --no-report"
for w in mgda pcgrad graddrop cagrad imtl gradvac nash aligned gradnorm; do
    check "three tasks under $w (mmoe): three finite weights per epoch" bash -c "
        '$mtl' train --model mmoe $T3 --weighting $w --out '$tmp/t3-$w' >/dev/null || exit 1
        awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if (\$i ~ /_weight\$/) c[++n] = i; next }
                 { rows++; for (j = 1; j <= n; j++) if (\$c[j] !~ /^-?[0-9]/) bad = 1 }
                 END { exit !(n == 3 && rows == 2 && !bad) }' '$tmp/t3-$w/log.csv'"
done
check "unknown strategy: one line naming the flag and the known names" \
    fails_with 2 "--weighting: unknown weighting 'bogus' (expected one of: ew, dwa" "$mtl" train $D $R --weighting bogus
check "--rep-grad with a strategy that has no representation form" \
    fails_with 2 "--rep-grad: weighting pcgrad" "$mtl" train $D $R --model mt1dcnn --weighting pcgrad --rep-grad
check "--rep-grad with a model that has no single shared representation" \
    fails_with 1 "rep-grad: model tiny has no single shared representation" "$mtl" train $D $R --model tiny --weighting mgda --rep-grad
check "bad strategy settings name the flag" fails_with 2 "--mgda-norm: 'l3'" "$mtl" train $D $R --weighting mgda --mgda-norm l3
check "cagrad c outside [0, 1)" fails_with 2 "cagrad-c" "$mtl" train $D $R --weighting cagrad --cagrad-c 1.5
check "study: an unknown strategy in the list" fails_with 2 "unknown weighting 'nope'" "$mtl" study $D $R --models tiny --weightings ew,nope
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
