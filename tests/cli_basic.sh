#!/bin/bash
# The command line: help lists every flag with its default, bad input gives a clear
# error and exit code 2, and the demo trains and writes its CSV log.
mtl=${1:?usage: cli_basic.sh path/to/mtl}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        pass=$((pass + 1))
        echo "ok   $what"
    else
        fail=$((fail + 1))
        echo "FAIL $what"
        sed 's/^/     | /' "$tmp/out" | head -20
    fi
}
exit_code() { "${@:2}" >/dev/null 2>&1; [ $? -eq "$1" ]; }

check "mtl --help exits 0 and lists demo" bash -c "'$mtl' --help | grep -q '^  demo'"
check "mtl with no command exits 2" exit_code 2 "$mtl"
check "unknown command exits 2 and names it" bash -c "'$mtl' frobnicate 2>&1 | grep -q \"unknown command 'frobnicate'\"; [ \${PIPESTATUS[0]} -eq 2 ]"
check "mtl --version" bash -c "'$mtl' --version | grep -Eq '^mtl [0-9]+\.[0-9]+\.[0-9]+'"
# every flag of demo appears in its help with a default
check "demo --help shows every flag with its default" bash -c "
    h=\$('$mtl' demo --help) || exit 1
    for f in epochs batch-size lr samples length noise width seed threads csv; do
        echo \"\$h\" | grep -Eq -- \"--\$f .*\\(default: \" || { echo \"missing --\$f\"; exit 1; }
    done"
check "info --help shows --threads with its default" bash -c "'$mtl' info --help | grep -q -- '--threads.*(default: 0)'"
check "unknown flag exits 2 and names the flag" bash -c "'$mtl' demo --epoch 3 2>&1 | grep -q \"unknown flag '--epoch'\"; [ \${PIPESTATUS[0]} -eq 2 ]"
check "non-integer value is rejected" bash -c "'$mtl' demo --epochs three 2>&1 | grep -q -- \"--epochs: 'three' is not an integer\"; [ \${PIPESTATUS[0]} -eq 2 ]"
check "out-of-range value is rejected" bash -c "'$mtl' demo --batch-size 1 2>&1 | grep -q -- '--batch-size: 1 is outside'; [ \${PIPESTATUS[0]} -eq 2 ]"
check "NaN learning rate is rejected" bash -c "'$mtl' demo --lr nan 2>&1 | grep -q -- '--lr'; [ \${PIPESTATUS[0]} -eq 2 ]"
check "missing value is rejected" exit_code 2 "$mtl" demo --epochs
check "unwritable CSV path is an error naming it" bash -c "'$mtl' demo --epochs 1 --samples 64 --csv /nonexistent/dir/log.csv 2>&1 | grep -q '/nonexistent/dir/log.csv'; [ \${PIPESTATUS[0]} -eq 1 ]"
check "info prints the BLAS configuration and the models" bash -c "'$mtl' info | grep -q OpenBLAS && '$mtl' info | grep -q tiny"
# the demo learns: a short run gets well above chance on both tasks and writes its CSV
check "demo trains and writes a CSV log" bash -c "
    '$mtl' demo --epochs 8 --samples 600 --threads 1 --csv '$tmp/log.csv' > '$tmp/demo.txt' || exit 1
    [ \$(wc -l < '$tmp/log.csv') -eq 9 ] || { echo 'CSV rows'; exit 1; }
    head -1 '$tmp/log.csv' | grep -q '^epoch,frequency_train_loss' || exit 1
    acc=\$(grep 'held-out accuracy' '$tmp/demo.txt') || exit 1
    echo \"\$acc\"
    f=\$(echo \"\$acc\" | sed -E 's/.*frequency ([0-9.]+)%.*/\\1/'); a=\$(echo \"\$acc\" | sed -E 's/.*amplitude ([0-9.]+)%.*/\\1/')
    awk -v f=\"\$f\" -v a=\"\$a\" 'BEGIN { exit !(f > 50 && a > 80) }'"
check "the same seed gives the same losses and accuracies" bash -c "
    '$mtl' demo --epochs 3 --samples 200 --threads 2 --seed 5 --csv '$tmp/a.csv' >/dev/null || exit 1
    '$mtl' demo --epochs 3 --samples 200 --threads 2 --seed 5 --csv '$tmp/b.csv' >/dev/null || exit 1
    '$mtl' demo --epochs 3 --samples 200 --threads 2 --seed 6 --csv '$tmp/c.csv' >/dev/null || exit 1
    cut -d, -f1-11 '$tmp/a.csv' > '$tmp/a.txt'; cut -d, -f1-11 '$tmp/b.csv' > '$tmp/b.txt'; cut -d, -f1-11 '$tmp/c.csv' > '$tmp/c.txt'
    cmp '$tmp/a.txt' '$tmp/b.txt' && ! cmp -s '$tmp/a.txt' '$tmp/c.txt'"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
