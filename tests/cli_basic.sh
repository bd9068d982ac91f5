#!/bin/bash
# The command line: every subcommand's help lists every flag with its default, bad
# input gives a one-line error naming the flag or file and exit code 2 (usage) or 1.
mtl=${1:?usage: cli_basic.sh path/to/mtl}
. "$(dirname "$0")/lib_cli.sh"

check "mtl --help exits 0 and lists every command" bash -c "
    h=\$('$mtl' --help) || exit 1
    for c in demo train compare eval predict bench info; do echo \"\$h\" | grep -q \"^  \$c \" || { echo \"missing \$c\"; exit 1; }; done"
check "mtl with no command exits 2" exit_code 2 "$mtl"
check "unknown command exits 2 and names it" fails_with 2 "unknown command 'frobnicate'" "$mtl" frobnicate
check "mtl --version" bash -c "'$mtl' --version | grep -Eq '^mtl [0-9]+\.[0-9]+\.[0-9]+'"
for cmd in demo train compare eval predict bench info; do
    check "$cmd --help shows every flag with its default" bash -c "
        h=\$('$mtl' $cmd --help) || exit 1
        n=\$(echo \"\$h\" | grep -c '^  --') || exit 1
        [ \"\$n\" -ge 2 ] || exit 1
        bad=\$(echo \"\$h\" | grep '^  --' | grep -v -- '--help' | grep -v '(default: ')
        [ -z \"\$bad\" ] || { echo \"no default: \$bad\"; exit 1; }"
done
check "train --help names the MTAGN recipe defaults" bash -c "
    h=\$('$mtl' train --help)
    echo \"\$h\" | grep -q -- '--epochs N .*(default: 100)' && echo \"\$h\" | grep -q -- '--batch-size N .*(default: 50)' &&
    echo \"\$h\" | grep -q -- '--weighting S .*(default: dwa)' && echo \"\$h\" | grep -q -- '--seeds N .*(default: 5)' &&
    echo \"\$h\" | grep -q -- '--lr X .*(default: 0.001)' && echo \"\$h\" | grep -q -- '--split S .*(default: mtagn)'"
check "unknown flag exits 2 and names the flag" fails_with 2 "unknown flag '--epoch'" "$mtl" train --epoch 3
check "non-integer value is rejected" fails_with 2 "--epochs: 'three' is not an integer" "$mtl" train --epochs three
check "out-of-range value is rejected" fails_with 2 "--batch-size: 1 is outside" "$mtl" train --batch-size 1
check "NaN learning rate is rejected" fails_with 2 "--lr" "$mtl" train --lr nan
check "missing value is rejected" fails_with 2 "--epochs needs a value" "$mtl" train --epochs
check "unknown model exits 2 and lists the models" fails_with 2 "unknown model 'resnet'.*mtagn" "$mtl" train --model resnet
check "unknown weighting exits 2" fails_with 2 "unknown weighting 'magic'" "$mtl" train --weighting magic
check "unknown split exits 2" fails_with 2 "--split: 'diagonal'" "$mtl" train --split diagonal
check "bad normalisation exits 2" fails_with 2 "--norm" "$mtl" train --norm sideways
check "bad SNR list exits 2" fails_with 2 "--snr: '4,x'" "$mtl" train --snr 4,x
check "bad sweep list exits 2" fails_with 2 "--train-per-class" "$mtl" train --train-per-class 5,0
check "unknown data source exits 2" fails_with 2 "--data: 'hdf'" "$mtl" train --data hdf
check "missing CWRU directory names it" fails_with 1 "/nonexistent/cwru" "$mtl" train --data cwru --data-dir /nonexistent/cwru --seeds 1
check "eval without a checkpoint exits 2" fails_with 2 "--checkpoint is required" "$mtl" eval --data sim
check "eval of a missing checkpoint names it" fails_with 1 "/nonexistent/model.safetensors" "$mtl" eval --data sim --checkpoint /nonexistent/model.safetensors
check "predict needs a checkpoint and a file" fails_with 2 "--checkpoint and --file are required" "$mtl" predict
check "info prints the BLAS configuration and the models" bash -c "'$mtl' info | grep -q OpenBLAS && '$mtl' info | grep -q mtagn && '$mtl' info | grep -q wdcnn"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
