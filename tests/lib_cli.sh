# Helpers for the command-line tests (sourced by tests/cli_*.sh): a temporary directory
# removed on exit, check (a described command that must succeed), exit_code and fails_with.
# The sourcing script counts with $pass and $fail and ends with their summary line.
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
        sed 's/^/     | /' "$tmp/out" | head -30
    fi
}
exit_code() { "${@:2}" >/dev/null 2>&1; [ $? -eq "$1" ]; }
# expects exit code $1 and stderr matching $2 (one line) from the command $3...
fails_with() {
    local code=$1 pattern=$2
    shift 2
    "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    local got=$?
    cat "$tmp/stderr"
    [ "$got" -eq "$code" ] || { echo "exit code $got, expected $code"; return 1; }
    grep -q -- "$pattern" "$tmp/stderr" || { echo "stderr lacks: $pattern"; return 1; }
    [ "$(wc -l <"$tmp/stderr")" -le 2 ] || { echo "more than a one-line error"; return 1; }
}
