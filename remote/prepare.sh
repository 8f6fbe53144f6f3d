#!/bin/sh
# Board preparation for measuring (pushed and run by `bench board prepare|restore NAME`).
#
#   prepare.sh prepare ROOT STATE CPU...   governor performance and frequency locked at the maximum
#                                          on these CPUs; reports idle states and thermal trip points
#   prepare.sh restore ROOT STATE          puts back every value STATE recorded, then removes STATE
#
# ROOT is the root of the Linux tree ("/" on a board; a copy of a recorded tree in the tests). STATE
# holds one "FILE<TAB>ORIGINAL VALUE" line per file before it is first written, so a restore undoes
# exactly what was changed, newest first. POSIX sh only: boards may have nothing but busybox.
set -u
[ $# -ge 3 ] || { echo "usage: prepare.sh prepare ROOT STATE CPU... | restore ROOT STATE" >&2; exit 2; }
MODE=$1 ROOT=${2%/} STATE=$3
shift 3
CPU_DIR=$ROOT/sys/devices/system/cpu
TAB=$(printf '\t')
failed=0

# set FILE VALUE: record FILE's value in STATE (once), then write VALUE.
set_value() {
    old=$(cat "$1" 2>/dev/null) || { echo "error: cannot read $1" >&2; failed=1; return 1; }
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

case $MODE in
prepare)
    [ -e "$STATE" ] && { echo "error: $STATE exists: already prepared; restore first" >&2; exit 2; }
    : > "$STATE" || { echo "error: cannot create $STATE" >&2; exit 1; }
    nocpufreq="" noidle=""
    for cpu in "$@"; do prepare_cpu "$cpu"; report_idle "$cpu"; done
    [ -z "$nocpufreq" ] || echo "cpufreq: none on cpus$nocpufreq (frequency cannot be set; nothing changed there)"
    [ -z "$noidle" ] || echo "idle: no cpuidle states on cpus$noidle"
    report_thermal
    echo "state: $(wc -l < "$STATE") value(s) recorded in $STATE"
    ;;
restore)
    [ -f "$STATE" ] || { echo "error: no $STATE: nothing to restore" >&2; exit 2; }
    # newest first (sed reverses the lines), so min goes back before max, as it went forward
    sed -n '1!G;h;$p' "$STATE" | while IFS="$TAB" read -r file value; do
        if echo "$value" > "$file" 2>/dev/null; then echo "restored $file = $value"
        else echo "error: cannot write $value to $file" >&2; exit 1; fi
    done || failed=1
    [ $failed = 1 ] || rm -f "$STATE"
    ;;
*)
    echo "usage: prepare.sh prepare ROOT STATE CPU... | restore ROOT STATE" >&2; exit 2 ;;
esac
exit $failed
