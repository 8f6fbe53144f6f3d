#!/bin/sh
# Board preparation for measuring (pushed and run by `bench board prepare|restore NAME`).
#
#   prepare.sh prepare ROOT STATEDIR CPU...  governor performance and frequency locked at the maximum
#                                            on these CPUs; reports idle states and thermal trip points
#   prepare.sh restore ROOT STATEDIR STATE   puts back every value STATE records, then removes the
#                                            board's own record STATEDIR/prepare.state
#
# ROOT is the root of the Linux tree ("/" on a board; a copy of a recorded tree in the tests).
# STATEDIR is a private directory of the login user (created 0700; a symlink or another user's
# directory is refused); prepare records there, in prepare.state, one "FILE<TAB>ORIGINAL VALUE" line
# per file before it is first written. restore takes the record to apply from STATE (the host's
# copy, which is authoritative) and writes only lines prepare could have recorded: a cpufreq
# governor, minimum or maximum frequency of a CPU under ROOT, with a plain value; any other line is
# refused before anything is written. Values go back newest first. POSIX sh only: boards may have
# nothing but busybox.
set -u
USAGE="usage: prepare.sh prepare ROOT STATEDIR CPU... | restore ROOT STATEDIR STATE"
[ $# -ge 3 ] || { echo "$USAGE" >&2; exit 2; }
MODE=$1 ROOT=${2%/} STATEDIR=$3
shift 3
CPU_DIR=$ROOT/sys/devices/system/cpu
STATE=$STATEDIR/prepare.state
TAB=$(printf '\t')
failed=0

private_dir() {
    [ -L "$1" ] && { echo "error: $1 is a symlink; refusing it as the state directory" >&2; exit 2; }
    (umask 077 && mkdir -p "$1") || { echo "error: cannot create $1" >&2; exit 1; }
    [ -d "$1" ] && [ ! -L "$1" ] && [ -O "$1" ] ||
        { echo "error: $1 is not a directory of this user; refusing it as the state directory" >&2; exit 2; }
    chmod 700 "$1" || exit 1
}

# valid_line FILE VALUE: a line prepare could have recorded (a cpufreq file of one CPU, a plain value).
valid_line() {
    n=${1#"$CPU_DIR"/cpu}; n=${n%%/*}
    case $n in ''|*[!0-9]*) return 1 ;; esac
    case $1 in
    "$CPU_DIR/cpu$n/cpufreq/scaling_governor") case $2 in ''|*[!A-Za-z0-9_]*) return 1 ;; esac ;;
    "$CPU_DIR/cpu$n/cpufreq/scaling_min_freq"|"$CPU_DIR/cpu$n/cpufreq/scaling_max_freq")
        case $2 in ''|*[!0-9]*) return 1 ;; esac ;;
    *) return 1 ;;
    esac
}

# set FILE VALUE: record FILE's value in STATE (once), then write VALUE.
set_value() {
    old=$(cat "$1" 2>/dev/null) || { echo "error: cannot read $1" >&2; failed=1; return 1; }
    valid_line "$1" "$old" || { echo "error: unexpected value in $1; not changed" >&2; failed=1; return 1; }
    grep -q "^$1$TAB" "$STATE" 2>/dev/null || printf '%s\t%s\n' "$1" "$old" >> "$STATE"
    [ "$old" = "$2" ] && return 0
    echo "$2" > "$1" 2>/dev/null || { echo "error: cannot write $2 to $1" >&2; failed=1; return 1; }
}

prepare_cpu() {
    d=$CPU_DIR/cpu$1/cpufreq
    [ -d "$d" ] || { nocpufreq="$nocpufreq $1"; return; }
    max=$(cat "$d/cpuinfo_max_freq")
    gov=$(cat "$d/scaling_governor") lo=$(cat "$d/scaling_min_freq") hi=$(cat "$d/scaling_max_freq")
    set_value "$d/scaling_governor" performance
    set_value "$d/scaling_max_freq" "$max"   # max before min: min may never exceed max
    set_value "$d/scaling_min_freq" "$max"
    echo "cpufreq cpu$1: governor $gov -> performance, min $lo -> $max kHz, max $hi -> $max kHz"
}

report_idle() {
    found=0
    for s in "$CPU_DIR/cpu$1"/cpuidle/state*; do
        [ -d "$s" ] || continue
        found=1
        echo "idle cpu$1 ${s##*/}: $(cat "$s/name") latency $(cat "$s/latency") us, disabled $(cat "$s/disable" 2>/dev/null || echo ?)"
    done
    [ $found = 1 ] || noidle="$noidle $1"
}

report_thermal() {
    found=0
    for z in "$ROOT"/sys/class/thermal/thermal_zone*; do
        [ -d "$z" ] || continue
        found=1
        for t in "$z"/trip_point_*_temp; do
            [ -f "$t" ] || { echo "thermal ${z##*/} ($(cat "$z/type")): no trip points"; break; }
            n=${t##*/trip_point_}; n=${n%_temp}
            echo "thermal ${z##*/} ($(cat "$z/type")): trip $n $(cat "$z/trip_point_${n}_type" 2>/dev/null) at $(cat "$t") m°C"
        done
    done
    [ $found = 1 ] || echo "thermal: no thermal zones"
}

# check_record FILE: every line of a record is one prepare could have written (nothing is written otherwise).
check_record() {
    n=0
    while IFS="$TAB" read -r file value; do
        n=$((n + 1))
        valid_line "$file" "$value" || { echo "error: line $n of $1 is not a cpufreq value prepare records; nothing restored" >&2; exit 2; }
    done < "$1"
}

case $MODE in
prepare)
    [ $# -ge 1 ] || { echo "$USAGE" >&2; exit 2; }
    for cpu in "$@"; do case $cpu in ''|*[!0-9]*) echo "error: bad CPU number $cpu" >&2; exit 2 ;; esac; done
    private_dir "$STATEDIR"
    [ -e "$STATE" ] || [ -L "$STATE" ] && { echo "error: $STATE exists: already prepared; restore first" >&2; exit 2; }
    : > "$STATE" || { echo "error: cannot create $STATE" >&2; exit 1; }
    nocpufreq="" noidle=""
    for cpu in "$@"; do prepare_cpu "$cpu"; report_idle "$cpu"; done
    [ -z "$nocpufreq" ] || echo "cpufreq: none on cpus$nocpufreq (frequency cannot be set; nothing changed there)"
    [ -z "$noidle" ] || echo "idle: no cpuidle states on cpus$noidle"
    report_thermal
    echo "state: $(wc -l < "$STATE") value(s) recorded in $STATE"
    ;;
restore)
    [ $# -eq 1 ] || { echo "$USAGE" >&2; exit 2; }
    RECORD=$1
    [ -f "$RECORD" ] && [ ! -L "$RECORD" ] || { echo "error: no $RECORD: nothing to restore" >&2; exit 2; }
    private_dir "$STATEDIR"
    check_record "$RECORD"
    # newest first (sed reverses the lines), so min goes back before max, as it went forward
    sed -n '1!G;h;$p' "$RECORD" | while IFS="$TAB" read -r file value; do
        if echo "$value" > "$file" 2>/dev/null; then echo "restored $file = $value"
        else echo "error: cannot write $value to $file" >&2; exit 1; fi
    done || failed=1
    [ $failed = 1 ] || rm -f "$STATE"
    ;;
*)
    echo "$USAGE" >&2; exit 2 ;;
esac
exit $failed
