#!/bin/bash
# Tabular data through the command: a description file and small CSVs made here, train /
# compare / predict end to end, the files in --out, determinism, and bad input (rows with
# the wrong number of fields, unparsable numbers, unknown columns, empty files, bad flags).
mtl=${1:?usage: cli_tab.sh path/to/mtl}
. "$(dirname "$0")/lib_cli.sh"

# rows: id,color,size,weight,label_a,label_b; label_a depends on color and weight, label_b on size
gen() { # rows seed
    awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); split("red green blue", col, " ");
        print "id,color,size,weight,a,b";
        for (i = 1; i <= n; i++) { c = col[int(rand() * 3) + 1]; s = int(rand() * 4); w = rand() * 10;
            a = (c == "red" || w > 7) ? "yes" : "no"; b = (s >= 2) ? "big" : (s == 1 ? "mid" : "small");
            printf "%d,%s,%d,%.3f,%s,%s\n", i, c, s, w, a, b } }'
}
gen 600 1 > "$tmp/train.csv"
gen 300 2 | gzip > "$tmp/test.csv.gz"
cat > "$tmp/desc.txt" <<'D'
# a small test table
delimiter ","
header yes
column id ignore
column color nominal
column size nominal
column weight continuous log1p
column a nominal
column b nominal
task a binary a yes
task b multiclass b
D
T="--data table --schema $tmp/desc.txt --train-file $tmp/train.csv --test-file $tmp/test.csv.gz --quiet --threads 2"
R="--epochs 4 --batch-size 64 --lr 0.01 --units 8 --experts 2 --tower 8"

check "train mmoe on a described CSV writes log, checkpoint, summary, gates and report" bash -c "
    '$mtl' train --model mmoe $T $R --seeds 2 --out '$tmp/run' > '$tmp/train.txt' || exit 1
    for f in log.csv model.safetensors summary.json results.csv gates.csv report.html; do
        [ -s '$tmp/run/'\$f ] || { echo \"missing \$f\"; exit 1; }; done
    grep -q 'AUC' '$tmp/train.txt' && grep -q '^a ' '$tmp/train.txt' && grep -q '^b ' '$tmp/train.txt'"
check "summary.json has tasks.<task>.auc.{mean,std,best,per_seed} as fractions" bash -c "
    j='$tmp/run/summary.json'
    /usr/bin/python3 -c \"
import json, sys
j = json.load(open(sys.argv[1]))
a = j['tasks']['a']['auc']
assert set(a) >= {'mean', 'std', 'best', 'per_seed'} and len(a['per_seed']) == 2, a
assert all(0 <= v <= 1 for v in a['per_seed']) and max(a['per_seed']) == a['best'], a
assert 'log_loss' in j['tasks']['b'] and 'expert_usage' in j, j.keys()
\" \$j"
check "the task that is an easy function of its inputs is learnt (test AUC of a > 0.9)" bash -c "
    auc=\$(/usr/bin/python3 -c \"import json; print(json.load(open('$tmp/run/summary.json'))['tasks']['a']['auc']['mean'])\")
    echo \"AUC \$auc\"; awk -v a=\"\$auc\" 'BEGIN { exit !(a > 0.9) }'"
check "report.html shows the ROC and the expert usage" bash -c "
    grep -q 'ROC' '$tmp/run/report.html' && grep -qi 'expert usage' '$tmp/run/report.html'"
check "the same seed gives the same log (but for the time column)" bash -c "
    '$mtl' train --model coamtl $T $R --seeds 1 --out '$tmp/x' >/dev/null && '$mtl' train --model coamtl $T $R --seeds 1 --out '$tmp/y' >/dev/null || exit 1
    for d in x y; do cut -d, -f1-3,5-8 '$tmp/'\$d/log.csv > '$tmp/'\$d.txt; done; cmp '$tmp/x.txt' '$tmp/y.txt'"
check "DWA weights the tasks of a table: the logged weights move away from 1 after two epochs" bash -c "
    '$mtl' train --model shared-bottom $T $R --weighting dwa --patience 0 --seeds 1 --out '$tmp/dwa' >/dev/null || exit 1
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if (\$i == \"a_weight\") c = i } NR > 3 && (\$c > 1.0001 || \$c < 0.9999) { moved = 1 }
             END { exit !(c && moved) }' '$tmp/dwa/log.csv'"
check "eval of the checkpoint reproduces the first seed's test AUC with the saved encoder" bash -c "
    '$mtl' eval --checkpoint '$tmp/run/model.safetensors' $T --format json > '$tmp/eval.json' || exit 1
    /usr/bin/python3 -c \"
import json
e = json.load(open('$tmp/eval.json'))['tasks']['a']['auc']
s = json.load(open('$tmp/run/summary.json'))['tasks']['a']['auc']['per_seed'][0]
print('eval', e, 'train', s); assert abs(e - s) < 1e-5
\""
check "predict scores a CSV with the checkpoint's encoder: one row per input row, probabilities in [0, 1]" bash -c "
    gen() { awk -v n=\"\$1\" 'BEGIN { srand(9); print \"id,color,size,weight,a,b\";
        for (i = 1; i <= n; i++) printf \"%d,%s,%d,%.2f,?,?\\n\", i, (i % 2 ? \"red\" : \"purple\"), i % 4, i % 10 }'; }
    gen 25 > '$tmp/new.csv'
    '$mtl' predict --checkpoint '$tmp/run/model.safetensors' --file '$tmp/new.csv' --out '$tmp/p.csv' || exit 1
    head -1 '$tmp/p.csv' | grep -qx 'row,a,b=big,b=mid,b=small\|row,a,b=small,b=mid,b=big\|row,a,b=[a-z]*,b=[a-z]*,b=[a-z]*' || { head -1 '$tmp/p.csv'; exit 1; }
    [ \$(wc -l < '$tmp/p.csv') -eq 26 ] || exit 1
    awk -F, 'NR > 1 { for (i = 2; i <= NF; i++) if (\$i < 0 || \$i > 1) bad = 1; s = \$3 + \$4 + \$5; if (s < 0.999 || s > 1.001) bad = 1 }
             END { exit bad }' '$tmp/p.csv'"
check "compare prints one AUC table for the models with the protocol under it" bash -c "
    '$mtl' compare --models single,shared-bottom,omoe,cgc,ple,amtl $T $R --seeds 1 > '$tmp/cmp.txt' || exit 1
    for m in single shared-bottom omoe cgc ple amtl; do grep -q \"^\$m \" '$tmp/cmp.txt' || { echo \"no row for \$m\"; exit 1; }; done
    grep -q 'inputs:' '$tmp/cmp.txt' && grep -q 'Recipe' '$tmp/cmp.txt'"

# bad input: one-line errors naming the file, the line and the field
printf 'id,color,size,weight,a,b\n1,red,2,3.5,yes,big\n2,blue,1,oops,no,mid\n' > "$tmp/badnum.csv"
printf 'id,color,size,weight,a,b\n1,red,2,3.5,yes,big\n2,blue,1,2.0,no\n' > "$tmp/badrow.csv"
: > "$tmp/empty.csv"
check "a row with the wrong number of fields names the file, the line and the counts" \
    fails_with 1 "badrow.csv:3: 5 fields, expected 6" "$mtl" train --model mmoe --data table --schema "$tmp/desc.txt" \
    --train-file "$tmp/badrow.csv" --test-file "$tmp/test.csv.gz" --epochs 1 --quiet
check "an unparsable number names the file, the line, the column and the text" \
    fails_with 1 "badnum.csv:3: column .weight.*oops" "$mtl" train --model mmoe --data table --schema "$tmp/desc.txt" \
    --train-file "$tmp/badnum.csv" --test-file "$tmp/test.csv.gz" --epochs 1 --quiet
check "an empty file is an error naming it" \
    fails_with 1 "empty.csv" "$mtl" train --model mmoe --data table --schema "$tmp/desc.txt" \
    --train-file "$tmp/empty.csv" --test-file "$tmp/test.csv.gz" --epochs 1 --quiet
sed 's/^task a binary a yes/task a binary colour yes/' "$tmp/desc.txt" > "$tmp/desc_bad.txt"
check "a task naming an unknown column names the description file and its line" \
    fails_with 1 "desc_bad.txt:10: .*colour" "$mtl" train --model mmoe --data table --schema "$tmp/desc_bad.txt" \
    --train-file "$tmp/train.csv" --test-file "$tmp/test.csv.gz" --epochs 1 --quiet
sed 's/^task a binary a yes/task a binary a Yes/' "$tmp/desc.txt" > "$tmp/desc_typo.txt"
check "a binary task whose positive value never occurs names the file, the task and the value" \
    fails_with 1 "train.csv: task 'a': none of the 600 rows .*'Yes'" "$mtl" train --model mmoe --data table \
    --schema "$tmp/desc_typo.txt" --train-file "$tmp/train.csv" --test-file "$tmp/test.csv.gz" --epochs 1 --quiet
check "a missing training file is named" \
    fails_with 1 "nothere.csv" "$mtl" train --model mmoe --data table --schema "$tmp/desc.txt" \
    --train-file "$tmp/nothere.csv" --test-file "$tmp/test.csv.gz" --epochs 1 --quiet
check "--data table without its files is a usage error naming the flags" \
    fails_with 2 "schema" "$mtl" train --model mmoe --data table
check "a signal model on table data is refused" \
    fails_with 1 "mtagn" "$mtl" train --model mtagn $T --epochs 1
check "an unknown tabular flag value is named" \
    fails_with 2 "tower" "$mtl" train --model mmoe $T --tower 8,x
check "an unknown flag is named" fails_with 2 "no-such-flag" "$mtl" train --model mmoe $T --no-such-flag 3
check "train --help shows the tabular flags with defaults" bash -c "
    '$mtl' train --data census-income --help | grep -q 'task-group' && '$mtl' train --data census-income --help | grep -q 'batch-size.*1024'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
